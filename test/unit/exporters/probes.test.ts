// keepwatch_probe_* from the scheduler's probe_run events.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { probesCollector } from '../../../exporters/probes';
import { exposition, samples } from './exposition';

describe('probes collector', () => {
  test('duration histogram, success, CPU and skips from probe_run events', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    const c = probesCollector(store);
    const render = exposition(c);
    const run = (probe: string, ok: boolean, durationMs: number, cpuMs: number, overlapSkips: number) =>
      store.apply({ kind: 'probe_run', source: 'nginx_probe', at: clock.now(), probe, ok, durationMs, cpuMs, overlapSkips, reason: ok ? undefined : 'x' });
    run('nginx_status', true, 2, 0.3, 0);
    run('nginx_status', false, 4, 0.2, 1);
    run('vip', true, 0.1, 0.05, 0);
    const text = await render();
    expect(samples(text, 'keepwatch_probe_success')).toEqual(['keepwatch_probe_success{probe="nginx_status"} 0', 'keepwatch_probe_success{probe="vip"} 1']);
    expect(samples(text, 'keepwatch_probe_duration_seconds_count')).toEqual(['keepwatch_probe_duration_seconds_count{probe="nginx_status"} 2', 'keepwatch_probe_duration_seconds_count{probe="vip"} 1']);
    expect(samples(text, 'keepwatch_probe_cpu_seconds_total')).toEqual(['keepwatch_probe_cpu_seconds_total{probe="nginx_status"} 0.0005', 'keepwatch_probe_cpu_seconds_total{probe="vip"} 0.00005']);
    expect(samples(text, 'keepwatch_probe_skipped_total')).toEqual(['keepwatch_probe_skipped_total{probe="nginx_status"} 1', 'keepwatch_probe_skipped_total{probe="vip"} 0']);
    expect(samples(text, 'keepwatch_probe_last_run_timestamp_seconds{probe="vip"}')).toEqual([`keepwatch_probe_last_run_timestamp_seconds{probe="vip"} ${clock.now() / 1000}`]);
    // Closed (its module stopped): runs applied later are no longer summed or observed.
    c.close?.();
    run('vip', true, 0.1, 0.05, 0);
    const after = await render();
    expect(samples(after, 'keepwatch_probe_duration_seconds_count{probe="vip"}')).toEqual(['keepwatch_probe_duration_seconds_count{probe="vip"} 1']);
    expect(samples(after, 'keepwatch_probe_cpu_seconds_total{probe="vip"}')).toEqual(['keepwatch_probe_cpu_seconds_total{probe="vip"} 0.00005']);
  });
});
