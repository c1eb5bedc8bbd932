// A registry per agent (prom-client, no global default registry): every collector is updated and
// timed on each scrape, node_exporter style, so a broken collector shows as
// keepwatch_scrape_collector_success 0 instead of breaking /metrics.
import { Gauge, Registry } from 'prom-client';
import type { Collector } from './collector';

export interface MetricsRegistry {
  registry: Registry;
  scrape(): Promise<{ contentType: string; body: string }>;
}

export function createMetricsRegistry(collectors: Collector[]): MetricsRegistry {
  const registry = new Registry();
  const success = new Gauge({
    name: 'keepwatch_scrape_collector_success',
    help: 'keepwatch: whether a collector succeeded.',
    labelNames: ['collector'],
    registers: [registry],
  });
  const duration = new Gauge({
    name: 'keepwatch_scrape_collector_duration_seconds',
    help: 'keepwatch: duration of a collector scrape.',
    labelNames: ['collector'],
    registers: [registry],
  });
  for (const c of collectors) c.register(registry);
  return {
    registry,
    async scrape() {
      for (const c of collectors) {
        const t0 = performance.now();
        let ok = 1;
        try {
          c.update();
        } catch {
          ok = 0;
        }
        duration.set({ collector: c.name }, (performance.now() - t0) / 1000);
        success.set({ collector: c.name }, ok);
      }
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
