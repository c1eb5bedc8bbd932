// keepwatch_event_loop_delay_seconds{quantile}: how late the agent's event loop runs its timers
// (perf_hooks.monitorEventLoopDelay), a Prometheus summary: {quantile} series, _sum and _count. A blocked loop delays every probe, the FIFO reader and every scrape; this is the figure
// that shows it. The quantiles are those of the last full window (at least windowMs of the agent's
// clock, the first one while it fills), so every scraper sees the same figures whatever its cadence;
// _sum and _count cover the agent's life, as a summary's do. prom-client's Summary computes its
// quantiles from observations; here they come from the monitor's histogram, so get() is its own.
// The monitor records the whole time between two of its timers, so an idle loop shows its
// resolution: that is subtracted, and what is exported is how late the timers ran. The resolution
// is 50 ms, not prom-client's 10: each tick wakes an idle agent (100 times a second at 10 ms), and
// a block still shows in full when a tick falls due during it, so long blocks are seen and short
// ones sampled.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Summary, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';
import type { Clock } from '../agent/context';
import type { Collector } from './collector';

const QUANTILES = [0.5, 0.9, 0.99, 1] as const;
export const DEFAULT_RESOLUTION_MS = 50;

export interface EventLoopDelayOptions {
  clock: Clock;
  /** How long a window of quantiles lasts (default 60 s). */
  windowMs?: number;
  /** Sampling resolution of the monitor in ms (default DEFAULT_RESOLUTION_MS); the injected histogram's too. */
  resolutionMs?: number;
  /** The histogram to read (tests); default: monitorEventLoopDelay, enabled here. */
  histogram?: Pick<IntervalHistogram, 'percentile' | 'count' | 'mean' | 'reset' | 'disable'>;
}

export function eventLoopCollector(o: EventLoopDelayOptions): Collector {
  const windowMs = o.windowMs ?? 60_000;
  let h = o.histogram;
  if (!h) {
    const m = monitorEventLoopDelay({ resolution: o.resolutionMs ?? DEFAULT_RESOLUTION_MS });
    m.enable();
    h = m;
  }
  const hist = h;
  const resolutionNs = (o.resolutionMs ?? DEFAULT_RESOLUTION_MS) * 1e6;
  let windowStart = o.clock.now();
  let shown: number[] | undefined;
  let doneSumS = 0;
  let doneCount = 0;
  const windowSumS = () => (hist.count > 0 ? (hist.count * Math.max(0, hist.mean - resolutionNs)) / 1e9 : 0);
  /** The quantiles to show; a full running window becomes the one shown and a new one starts. */
  const roll = () => {
    const now = o.clock.now();
    const current = QUANTILES.map((q) => (hist.count > 0 ? Math.max(0, hist.percentile(q * 100) - resolutionNs) / 1e9 : 0));
    if (now - windowStart < windowMs) return shown ?? current;
    shown = current;
    doneSumS += windowSumS();
    doneCount += hist.count;
    hist.reset();
    windowStart = now;
    return shown;
  };
  const name = 'keepwatch_event_loop_delay_seconds';
  const help = 'Event loop delay of the agent (perf_hooks.monitorEventLoopDelay): quantiles of the last full window, sum and count since the start.';
  const delay = new (class extends Summary {
    override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
      const quantiles = roll();
      const base = await super.get(); // name, help, type summary, aggregator: prom-client's own
      return {
        ...base,
        values: [
          ...QUANTILES.map((q, i) => ({ labels: { quantile: q }, value: quantiles[i] })),
          { metricName: `${name}_sum`, labels: {}, value: doneSumS + windowSumS() },
          { metricName: `${name}_count`, labels: {}, value: doneCount + hist.count },
        ],
      };
    }
  })({ name, help, registers: [] });
  return {
    name: 'event_loop',
    // Moves with every sample: one render per second of the agent's clock at most.
    revision: () => Math.floor(o.clock.now() / 1000),
    metrics: [delay],
    close: () => hist.disable(),
  };
}
