// keepwatch_event_loop_delay_seconds{quantile}: how late the agent's event loop runs its timers
// (perf_hooks.monitorEventLoopDelay), as gauges with Prometheus's quantile label. A blocked loop delays every probe, the FIFO reader and every scrape; this is the figure
// that shows it. The quantiles are those of the last full window (at least windowMs of the agent's
// clock, the first one while it fills), so every scraper sees the same figures whatever its cadence.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge } from 'prom-client';
import type { Clock } from '../agent/context';
import type { Collector } from './collector';

const QUANTILES = [0.5, 0.9, 0.99, 1] as const;

export interface EventLoopDelayOptions {
  clock: Clock;
  /** How long a window of quantiles lasts (default 60 s). */
  windowMs?: number;
  /** Sampling resolution of the monitor in ms (default 10). */
  resolutionMs?: number;
  /** The histogram to read (tests); default: monitorEventLoopDelay, enabled here. */
  histogram?: Pick<IntervalHistogram, 'percentile' | 'count' | 'reset' | 'disable'>;
}

export function eventLoopCollector(o: EventLoopDelayOptions): Collector {
  const windowMs = o.windowMs ?? 60_000;
  let h = o.histogram;
  if (!h) {
    const m = monitorEventLoopDelay({ resolution: o.resolutionMs ?? 10 });
    m.enable();
    h = m;
  }
  const hist = h;
  let windowStart = o.clock.now();
  let shown: number[] | undefined;
  /** The quantiles to show; a full running window becomes the one shown and a new one starts. */
  const roll = () => {
    const now = o.clock.now();
    const current = QUANTILES.map((q) => (hist.count > 0 ? hist.percentile(q * 100) / 1e9 : 0));
    if (now - windowStart < windowMs) return shown ?? current;
    shown = current;
    hist.reset();
    windowStart = now;
    return shown;
  };
  const delay = new Gauge({
    name: 'keepwatch_event_loop_delay_seconds',
    help: 'Event loop delay of the agent (perf_hooks.monitorEventLoopDelay): quantiles of the last full window.',
    labelNames: ['quantile'],
    registers: [],
    collect() {
      this.reset();
      roll().forEach((v, i) => this.set({ quantile: String(QUANTILES[i]) }, v));
    },
  });
  return {
    name: 'event_loop',
    // Moves with every sample: one render per second of the agent's clock at most.
    revision: () => Math.floor(o.clock.now() / 1000),
    metrics: [delay],
    close: () => hist.disable(),
  };
}
