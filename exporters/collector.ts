// One collector per concern (keepalived, nginx, vip, self...), node_exporter style: each creates
// its metrics once, in no registry (`registers: []`), and each metric computes its samples from
// the collector's sources in its prom-client collect() callback, at scrape time. The scrape
// registers them in a registry of the collector's own, times each collector and exports
// keepwatch_scrape_collector_{success,duration_seconds}{collector}: a collect() that throws
// marks its collector failed (and drops its text) instead of breaking /metrics.
import type { Metric } from 'prom-client';

export interface Collector {
  /** The `collector` label value. */
  readonly name: string;
  /** Its metrics, in exposition order, created once with `registers: []` and a collect() each. */
  readonly metrics: readonly Metric[];
  /**
   * Optional: a value that changes whenever this collector's output may change (e.g. the store's
   * revision for a collector that reads only the store). While it stays the same, the scrape
   * reuses the collector's last exposition text and skips its collect() callbacks: the bulk of a
   * /metrics with many instances is then served without being rebuilt. A collector whose output
   * holds ages (seconds since...) includes the clock in whole seconds: its text is then at most
   * 1 s old, which no scraper can tell from a fresh one, and back-to-back scrapes reuse it.
   */
  revision?(): unknown;
  /**
   * Only for a collector that follows the store's events as they are applied (each observation
   * into a histogram: the state keeps only the last one); the others compute everything from
   * their sources at scrape time and hold nothing to release. Stops following; the module that
   * built the collector calls it when it stops.
   */
  close?(): void;
}
