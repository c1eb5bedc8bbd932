// When each configurable probe runs: its default interval and timeout, how `probes.<name>` in the
// config overrides them, and which probes run again at once when nginx restarted or reloaded.
import type { Config, ProbeSchedule } from '../config/schema';
import { ARPING_MIN_TIMEOUT_MS } from './arpProbe';

/** The probes the config schedules (the keys of `probes:`). */
export type ProbeName = keyof Config['probes'];

export interface ProbeDefaults {
  intervalMs?: number;
  schedule?: string;
  timeoutMs: number;
  /** The least timeout a short interval may cap the default to. */
  minTimeoutMs?: number;
}

/** Defaults when `probes.<name>` does not say: the VIP interval run is a safety net (the address monitor sees changes at once). */
export const PROBE_DEFAULTS: Record<ProbeName, ProbeDefaults> = {
  vip: { intervalMs: 10_000, timeoutMs: 2_000 },
  // arping listens 2 s: with `arp: {interval: 1s}` the runs go back to back (the scheduler skips a
  // run while the last one is still going) rather than being cut off at 1 s.
  arp: { intervalMs: 10_000, timeoutMs: 5_000, minTimeoutMs: ARPING_MIN_TIMEOUT_MS },
  nginx_status: { intervalMs: 5_000, timeoutMs: 3_000 },
  // Each second: NGINX_HEALTH_FAILURES_DOWN failures in a row page NginxDownOnVipHolder, so a site
  // that stops answering is known in about two seconds. Local requests over a kept-alive connection.
  nginx_health: { intervalMs: 1_000, timeoutMs: 1_000 },
  // The full check (comm, start time, workers: reloads); between runs the probe watches the master's
  // pid itself (NGINX_WATCH_INTERVAL_MS), so a death is seen within a fraction of a second anyway.
  nginx_process: { intervalMs: 5_000, timeoutMs: 1_000 },
  // An interval, not the cron line '*/5 * * * *': node-cron's time zone arithmetic pages in ICU's
  // data, a memory cost for a probe that needs no wall-clock alignment. `schedule:` still takes cron.
  nginx_config: { intervalMs: 300_000, timeoutMs: 30_000 },
};

/** Probes run again at once when nginx restarted or reloaded: a restart or reload may bring another
 *  configuration (not checked for 5 minutes otherwise), and a new master serves again, which
 *  stub_status (every 5 s) would tell late while NginxDownOnVipHolder still fires on its last failure. */
export const RECHECK_ON_MASTER_CHANGE: ProbeName[] = ['nginx_config', 'nginx_status', 'nginx_health'];

export interface EffectiveSchedule {
  enabled: boolean;
  intervalMs?: number;
  schedule?: string;
  timeoutMs: number;
}

/** probes.<name> over the defaults: an interval replaces a default schedule and vice versa; a timeout
 * not set is the default's, capped by the interval but never under the probe's minimum. */
export function effectiveSchedule(name: ProbeName, cfg: ProbeSchedule | undefined): EffectiveSchedule {
  const d = PROBE_DEFAULTS[name];
  const enabled = cfg?.enabled ?? true;
  let intervalMs = d.intervalMs;
  let schedule = d.schedule;
  if (cfg?.interval !== undefined) {
    intervalMs = cfg.interval;
    schedule = undefined;
  } else if (cfg?.schedule !== undefined) {
    schedule = cfg.schedule;
    intervalMs = undefined;
  }
  const timeoutMs = cfg?.timeout ?? Math.max(d.minTimeoutMs ?? 0, intervalMs !== undefined ? Math.min(d.timeoutMs, intervalMs) : d.timeoutMs);
  return { enabled, intervalMs, schedule, timeoutMs };
}
