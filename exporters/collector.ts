// One collector per concern (keepalived, nginx, vip, self...), node_exporter style: each creates
// its metrics in a registry it is given (no global registry) and fills them from the store at
// scrape time. The scrape wrapper times each one and exports
// keepwatch_scrape_collector_{success,duration_seconds}{collector}.
import type { Registry } from 'prom-client';

export interface Collector {
  /** The `collector` label value. */
  readonly name: string;
  /** Creates this collector's metrics in the registry. Called once. */
  register(registry: Registry): void;
  /** Sets the metrics from the current state. Called once per scrape; throwing marks the collector failed. */
  update(): void;
  /**
   * Optional: a value that changes whenever this collector's output may change (e.g. the store's
   * revision for a collector that reads only the store). While it stays the same, the scrape
   * reuses the collector's last exposition text and skips update(): the bulk of a /metrics with
   * many instances is then served without being rebuilt. A collector whose output holds ages
   * (seconds since...) includes the clock in whole seconds: its text is then at most 1 s old,
   * which no scraper can tell from a fresh one, and back-to-back scrapes reuse it.
   */
  revision?(): unknown;
}
