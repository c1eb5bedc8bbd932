// One collector's exposition text, rendered as the scrape renders it: its metrics in a registry
// of their own, each metric's collect() run at render time. Shared by the collectors' tests.
import { Registry } from 'prom-client';
import type { Collector } from '../../../exporters/collector';

/** Renders the collector now (a scrape of it alone, without the scrape's meta metrics). */
export function exposition(c: Collector): () => Promise<string> {
  const registry = new Registry();
  for (const m of c.metrics) registry.registerMetric(m);
  return () => registry.metrics();
}

/** The sample lines (no HELP/TYPE) starting with prefix, sorted. */
export function samples(text: string, prefix: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .sort();
}
