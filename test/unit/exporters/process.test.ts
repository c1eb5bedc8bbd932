// process_* through prom-client's collectDefaultMetrics on the collector's own registry: the
// families Prometheus clients export, with this process's real values, no nodejs_* family, and
// the same metric objects for every agent in a process (no second GC observer or loop monitor).
import { register as globalRegistry } from 'prom-client';
import { FakeClock } from '../../helpers/fakeClock';
import { processCollector } from '../../../exporters/process';
import { exposition, samples } from './exposition';

describe('process collector', () => {
  test('start time, CPU, resident memory and open fds of this process; no nodejs_* family', async () => {
    const text = await exposition(processCollector(new FakeClock()))();
    const value = (name: string) => Number(samples(text, `${name} `)[0]?.split(' ')[1]);
    expect(value('process_start_time_seconds')).toBeCloseTo(Math.round(Date.now() / 1000 - process.uptime()), -1);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value('process_open_fds')).toBeGreaterThan(0);
    expect(value('process_max_fds')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE process_cpu_seconds_total counter\n');
    expect(text).not.toMatch(/^nodejs_/m);
    expect(text).not.toMatch(/^# TYPE nodejs_/m);
  });

  test('never in the global registry; one set of metrics per process; its text moves with the clock\'s second', async () => {
    const clock = new FakeClock();
    const a = processCollector(clock);
    const b = processCollector(clock);
    expect(b.metrics).toBe(a.metrics);
    expect(await globalRegistry.metrics()).not.toMatch(/process_/);
    const r = a.revision?.();
    clock.advance(999 - (clock.now() % 1000));
    expect(a.revision?.()).toBe(r);
    clock.advance(1);
    expect(a.revision?.()).not.toBe(r);
  });
});
