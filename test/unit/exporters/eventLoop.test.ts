// keepwatch_event_loop_delay_seconds{quantile}: the quantiles of the last full window of the
// agent's clock, from a histogram (injected here; perf_hooks.monitorEventLoopDelay in the agent),
// which holds the time between two timers of the monitor: the delay is that minus its resolution.
import { FakeClock } from '../../helpers/fakeClock';
import { eventLoopCollector } from '../../../exporters/eventLoop';
import { exposition, samples } from './exposition';

/** A histogram whose percentiles (ns) the test sets. */
function fakeHistogram() {
  const h = {
    values: new Map<number, number>(),
    count: 0,
    mean: 0,
    resets: 0,
    disabled: false,
    percentile: (p: number) => h.values.get(p) ?? 0,
    reset: () => {
      h.resets++;
      h.count = 0;
      h.values.clear();
    },
    disable: () => {
      h.disabled = true;
      return true;
    },
  };
  return h;
}

const ms = (n: number) => n * 1e6;

describe('event loop collector', () => {
  test('quantiles in seconds with Prometheus\'s quantile label; the last full window is shown until the next one fills', async () => {
    const clock = new FakeClock();
    const h = fakeHistogram();
    const c = eventLoopCollector({ clock, windowMs: 60_000, resolutionMs: 10, histogram: h });
    const render = exposition(c);
    h.count = 10;
    h.mean = ms(21);
    h.values = new Map([[50, ms(20)], [90, ms(22)], [99, ms(95)], [100, ms(96)]]);
    // The first window, while it fills.
    const first = await render();
    expect(first).toContain('# TYPE keepwatch_event_loop_delay_seconds summary\n');
    expect(samples(first, 'keepwatch_event_loop_delay_seconds_')).toEqual(['keepwatch_event_loop_delay_seconds_count 10', 'keepwatch_event_loop_delay_seconds_sum 0.11']);
    expect(samples(first, 'keepwatch_event_loop_delay_seconds{')).toEqual([
      'keepwatch_event_loop_delay_seconds{quantile="0.5"} 0.01',
      'keepwatch_event_loop_delay_seconds{quantile="0.9"} 0.012',
      'keepwatch_event_loop_delay_seconds{quantile="0.99"} 0.085',
      'keepwatch_event_loop_delay_seconds{quantile="1"} 0.086',
    ]);
    clock.advance(60_000);
    await render(); // the window is full: shown, and a new one starts
    expect(h.resets).toBe(1);
    h.count = 5;
    h.mean = ms(12);
    h.values = new Map([[50, ms(11)], [90, ms(11)], [99, ms(12)], [100, ms(13)]]);
    clock.advance(30_000);
    // _sum and _count: the whole life, the running window included.
    expect(samples(await render(), 'keepwatch_event_loop_delay_seconds_')).toEqual(['keepwatch_event_loop_delay_seconds_count 15', 'keepwatch_event_loop_delay_seconds_sum 0.12']);
    expect(samples(await render(), 'keepwatch_event_loop_delay_seconds{quantile="0.99"}')).toEqual(['keepwatch_event_loop_delay_seconds{quantile="0.99"} 0.085']);
    clock.advance(30_000);
    expect(samples(await render(), 'keepwatch_event_loop_delay_seconds{quantile="0.99"}')).toEqual(['keepwatch_event_loop_delay_seconds{quantile="0.99"} 0.002']);
    c.close?.();
    expect(h.disabled).toBe(true);
  });

  test('the real monitor: an idle loop shows next to no delay (not the monitor\'s resolution)', async () => {
    const clock = new FakeClock();
    const c = eventLoopCollector({ clock, resolutionMs: 10 });
    const render = exposition(c);
    await new Promise((r) => setTimeout(r, 500));
    const p50 = Number(samples(await render(), 'keepwatch_event_loop_delay_seconds{quantile="0.5"}')[0].split(' ')[1]);
    c.close?.();
    expect(p50).toBeLessThan(0.005);
  });

  test('the real monitor: a blocked loop shows in the max', async () => {
    const clock = new FakeClock();
    const c = eventLoopCollector({ clock, resolutionMs: 1 });
    const render = exposition(c);
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5));
    const until = performance.now() + 60;
    while (performance.now() < until) {
      /* block the loop */
    }
    await new Promise((r) => setTimeout(r, 5));
    const max = Number(samples(await render(), 'keepwatch_event_loop_delay_seconds{quantile="1"}')[0].split(' ')[1]);
    c.close?.();
    expect(max).toBeGreaterThanOrEqual(0.05);
  });
});
