// A registry per agent (prom-client, no global default registry): every collector is updated and
// timed on each scrape, node_exporter style, so a broken collector shows as
// keepwatch_scrape_collector_success 0 instead of breaking /metrics.
// Each collector gets its own prom-client Registry so that a collector declaring a revision()
// (its output is a pure function of it) keeps its rendered text while the revision holds:
// rendering the text, not updating the values, is most of what a scrape costs (bench/scrapeMicro.ts).
import { Gauge, Registry } from 'prom-client';
import type { Collector } from './collector';

export interface ScrapeResult {
  contentType: string;
  body: string;
  /** The body as UTF-8: the same object while nothing changed, so a scrape flood neither
   *  re-joins nor re-encodes it. */
  buffer: Buffer;
}

export interface MetricsRegistry {
  scrape(): Promise<ScrapeResult>;
}

interface Part {
  collector: Collector;
  registry: Registry;
  /** Text of the last successful render, and the revision it was made at. */
  text?: string;
  rev?: unknown;
}

/** A registry's text without the trailing newline ('' when it has no metric). */
async function render(registry: Registry): Promise<string> {
  const t = await registry.metrics();
  return t.endsWith('\n') ? t.slice(0, -1) : t;
}

export function createMetricsRegistry(collectors: Collector[]): MetricsRegistry {
  const meta = new Registry();
  const success = new Gauge({
    name: 'keepwatch_scrape_collector_success',
    help: 'keepwatch: whether a collector succeeded.',
    labelNames: ['collector'],
    registers: [meta],
  });
  const duration = new Gauge({
    name: 'keepwatch_scrape_collector_duration_seconds',
    help: 'keepwatch: duration of a collector scrape.',
    labelNames: ['collector'],
    registers: [meta],
  });
  const parts: Part[] = collectors.map((collector) => {
    const registry = new Registry();
    for (const m of collector.metrics) registry.registerMetric(m);
    return { collector, registry };
  });
  // Two collectors declaring the same metric would put its family twice in the exposition, which
  // Prometheus rejects: merging the parts' registries throws on a duplicate name, at build time.
  Registry.merge([meta, ...parts.map((p) => p.registry)]);
  let inflight: Promise<ScrapeResult> | undefined;
  let last: ScrapeResult | undefined;

  async function scrapeOnce(): Promise<ScrapeResult> {
    const texts: string[] = [];
    let changed = false;
    for (const p of parts) {
      const c = p.collector;
      const rev = c.revision?.();
      if (p.text !== undefined && rev !== undefined && rev === p.rev) {
        // Reused: its duration and success stay those of the update that made the text.
        texts.push(p.text);
        continue;
      }
      changed = true;
      const t0 = performance.now();
      let ok = 1;
      let text = '';
      try {
        // Each metric's collect() reads the collector's sources now.
        text = await render(p.registry);
      } catch {
        ok = 0;
      }
      // A failed collector's metrics are half set: no text, and nothing to reuse.
      p.text = ok ? text : undefined;
      p.rev = ok ? rev : undefined;
      texts.push(text);
      duration.set({ collector: c.name }, (performance.now() - t0) / 1000);
      success.set({ collector: c.name }, ok);
    }
    // Nothing changed anywhere (the meta metrics neither): the last answer, byte for byte.
    if (!changed && last) return last;
    const body = [await render(meta), ...texts].filter((t) => t !== '').join('\n\n') + '\n';
    last = { contentType: meta.contentType, body, buffer: Buffer.from(body, 'utf8') };
    return last;
  }

  return {
    scrape() {
      // Concurrent scrapes share one render instead of interleaving updates of the same metrics.
      if (!inflight) inflight = scrapeOnce().finally(() => (inflight = undefined));
      return inflight;
    },
  };
}
