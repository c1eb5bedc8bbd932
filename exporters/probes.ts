// The probes' own cost and health: keepwatch_probe_duration_seconds{probe} (histogram of every
// run), keepwatch_probe_success{probe} (last run), keepwatch_probe_cpu_seconds_total{probe}
// (agent CPU during runs; approximate, other work interleaves with an async run),
// keepwatch_probe_skipped_total{probe} (runs skipped because the previous one still ran) and
// keepwatch_probe_last_run_timestamp_seconds{probe}. Fed by each probe_run event as it is applied.
import { Histogram } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';

export const PROBE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function probesCollector(store: NodeStore): Collector {
  const duration = new Histogram({ name: 'keepwatch_probe_duration_seconds', help: 'Wall time of probe runs.', labelNames: ['probe'], buckets: PROBE_BUCKETS, registers: [] });
  // The store keeps a probe's last run only: CPU time is summed here, as the runs are applied.
  const cpuMs = new Map<string, number>();
  const skips = new Map<string, number>();
  const unsubscribe = store.subscribe((c) => {
    const ev = c.event;
    if (ev.kind !== 'probe_run') return;
    duration.observe({ probe: ev.probe }, Math.max(0, ev.durationMs) / 1000);
    if (ev.cpuMs !== undefined) cpuMs.set(ev.probe, (cpuMs.get(ev.probe) ?? 0) + Math.max(0, ev.cpuMs));
    if (ev.overlapSkips !== undefined) skips.set(ev.probe, ev.overlapSkips);
  });
  return {
    name: 'probes',
    // Reads only the store (and what its events fed): same revision, same text.
    revision: () => store.state.revision,
    metrics: [
      duration,
      scrapedGauge(
        { name: 'keepwatch_probe_success', help: 'Whether the last run of the probe succeeded (the reason of a failure is in /api/v1/state).', labelNames: ['probe'] },
        () => Object.entries(store.state.probes).map(([probe, p]) => [{ probe }, p.ok ? 1 : 0]),
      ),
      scrapedCounter({ name: 'keepwatch_probe_cpu_seconds_total', help: 'Agent CPU time spent during probe runs (approximate).', labelNames: ['probe'] }, () =>
        [...cpuMs].map(([probe, ms]) => [{ probe }, ms / 1000]),
      ),
      scrapedCounter({ name: 'keepwatch_probe_skipped_total', help: 'Probe runs skipped because the previous run was still going.', labelNames: ['probe'] }, () =>
        [...skips].map(([probe, n]) => [{ probe }, n]),
      ),
      scrapedGauge({ name: 'keepwatch_probe_last_run_timestamp_seconds', help: 'When the probe last ran.', labelNames: ['probe'] }, () =>
        Object.entries(store.state.probes).map(([probe, p]) => [{ probe }, p.at / 1000]),
      ),
    ],
    close: unsubscribe,
  };
}
