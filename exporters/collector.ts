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
}
