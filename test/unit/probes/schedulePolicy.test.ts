// The schedule policy: each probe's defaults and how `probes.<name>` overrides them.
import { effectiveSchedule, PROBE_DEFAULTS } from '../../../agent/probes/schedulePolicy';
import { ARPING_MIN_TIMEOUT_MS } from '../../../agent/probes/arpProbe';

describe('effectiveSchedule', () => {
  test('defaults, a schedule replacing a default interval and back, timeout capped by the interval', () => {
    expect(effectiveSchedule('vip', undefined)).toEqual({ enabled: true, intervalMs: 10_000, schedule: undefined, timeoutMs: 2_000 });
    expect(effectiveSchedule('nginx_config', undefined)).toEqual({ enabled: true, intervalMs: 300_000, schedule: undefined, timeoutMs: 30_000 });
    expect(effectiveSchedule('nginx_config', { schedule: '*/5 * * * *', enabled: true })).toEqual({ enabled: true, intervalMs: undefined, schedule: '*/5 * * * *', timeoutMs: 30_000 });
    expect(effectiveSchedule('nginx_config', { interval: 60_000, enabled: true })).toEqual({ enabled: true, intervalMs: 60_000, schedule: undefined, timeoutMs: 30_000 });
    expect(effectiveSchedule('arp', { schedule: '*/30 * * * * *', enabled: true })).toMatchObject({ intervalMs: undefined, schedule: '*/30 * * * * *', timeoutMs: PROBE_DEFAULTS.arp.timeoutMs });
    expect(effectiveSchedule('nginx_health', { interval: 1000, enabled: true })).toMatchObject({ intervalMs: 1000, timeoutMs: 1000 });
    // arping listens 2 s: a 1 s interval does not cap its timeout under that (runs go back to back).
    expect(effectiveSchedule('arp', { interval: 1000, enabled: true })).toMatchObject({ intervalMs: 1000, timeoutMs: ARPING_MIN_TIMEOUT_MS });
    expect(effectiveSchedule('arp', { interval: 1000, timeout: 3000, enabled: true })).toMatchObject({ intervalMs: 1000, timeoutMs: 3000 });
    expect(effectiveSchedule('nginx_health', { interval: 1000, timeout: 500, enabled: false })).toMatchObject({ enabled: false, timeoutMs: 500 });
  });
});
