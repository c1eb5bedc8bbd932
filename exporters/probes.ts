// The probes' own cost and health: keepwatch_probe_duration_seconds{probe} (histogram of every
// run), keepwatch_probe_success{probe} (last run), keepwatch_probe_cpu_seconds_total{probe}
// (agent CPU during runs; approximate, other work interleaves with an async run),
// keepwatch_probe_skipped_total{probe} (runs skipped because the previous one still ran) and
// keepwatch_probe_last_run_timestamp_seconds{probe}. Fed by each probe_run event as it is applied.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { Collector } from './collector';

export const PROBE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ProbesCollector extends Collector {
  close(): void;
}

export function probesCollector(store: NodeStore): ProbesCollector {
  let duration: Histogram | undefined;
  let success: Gauge;
  let cpu: Counter;
  let skipped: Counter;
  let lastRun: Gauge;
  const cpuMs = new Map<string, number>();
  const skips = new Map<string, number>();
  const early: Array<{ probe: string; s: number }> = [];
  const unsubscribe = store.subscribe((c) => {
    const ev = c.event;
    if (ev.kind !== 'probe_run') return;
    const s = Math.max(0, ev.durationMs) / 1000;
    if (duration) duration.observe({ probe: ev.probe }, s);
    else if (early.length < 1000) early.push({ probe: ev.probe, s });
    if (ev.cpuMs !== undefined) cpuMs.set(ev.probe, (cpuMs.get(ev.probe) ?? 0) + Math.max(0, ev.cpuMs));
    if (ev.overlapSkips !== undefined) skips.set(ev.probe, ev.overlapSkips);
  });
  return {
    name: 'probes',
    // Reads only the store (and histograms fed by its events): same revision, same text.
    revision: () => store.state.revision,
    register(registry: Registry) {
      const r = [registry];
      duration = new Histogram({ name: 'keepwatch_probe_duration_seconds', help: 'Wall time of probe runs.', labelNames: ['probe'], buckets: PROBE_BUCKETS, registers: r });
      for (const e of early.splice(0)) duration.observe({ probe: e.probe }, e.s);
      success = new Gauge({ name: 'keepwatch_probe_success', help: 'Whether the last run of the probe succeeded (the reason of a failure is in /api/v1/state).', labelNames: ['probe'], registers: r });
      cpu = new Counter({ name: 'keepwatch_probe_cpu_seconds_total', help: 'Agent CPU time spent during probe runs (approximate).', labelNames: ['probe'], registers: r });
      skipped = new Counter({ name: 'keepwatch_probe_skipped_total', help: 'Probe runs skipped because the previous run was still going.', labelNames: ['probe'], registers: r });
      lastRun = new Gauge({ name: 'keepwatch_probe_last_run_timestamp_seconds', help: 'When the probe last ran.', labelNames: ['probe'], registers: r });
    },
    update() {
      success.reset();
      lastRun.reset();
      for (const [probe, p] of Object.entries(store.state.probes)) {
        success.set({ probe }, p.ok ? 1 : 0);
        lastRun.set({ probe }, p.at / 1000);
      }
      cpu.reset();
      for (const [probe, ms] of cpuMs) cpu.inc({ probe }, ms / 1000);
      skipped.reset();
      for (const [probe, n] of skips) skipped.inc({ probe }, n);
    },
    close: () => unsubscribe(),
  };
}
