// The scrape wrapper (exporters/registry.ts): every collector timed and marked, a failing one
// marked 0 without breaking /metrics, text reused while a collector's revision holds, and two
// collectors declaring one metric refused when the registry is built.
import { Gauge, type Registry } from 'prom-client';
import type { Collector } from '../../../exporters/collector';
import { createMetricsRegistry } from '../../../exporters/registry';

function gaugeCollector(name: string, metric: string, o: { value?: () => number; revision?: () => unknown } = {}): Collector & { updates: number } {
  let g: Gauge<string>;
  const c = {
    name,
    updates: 0,
    register(r: Registry) {
      g = new Gauge({ name: metric, help: `${metric} help`, registers: [r] });
    },
    update() {
      c.updates++;
      g.set(o.value ? o.value() : 1);
    },
    ...(o.revision ? { revision: o.revision } : {}),
  };
  return c;
}

test('a metric declared by two collectors is refused when the registry is built', () => {
  expect(() => createMetricsRegistry([gaugeCollector('a', 'kw_test_same'), gaugeCollector('b', 'kw_test_same')])).toThrow(/kw_test_same/);
});

test('a failing collector is marked 0, the others are served; a revision that holds reuses the text', async () => {
  let rev = 1;
  const steady = gaugeCollector('steady', 'kw_test_steady', { revision: () => rev });
  const broken = gaugeCollector('broken', 'kw_test_broken', {
    value: () => {
      throw new Error('no');
    },
  });
  const m = createMetricsRegistry([steady, broken]);
  const first = await m.scrape();
  expect(first.body).toMatch(/^keepwatch_scrape_collector_success\{collector="steady"\} 1$/m);
  expect(first.body).toMatch(/^keepwatch_scrape_collector_success\{collector="broken"\} 0$/m);
  expect(first.body).toMatch(/^kw_test_steady 1$/m);
  await m.scrape();
  expect(steady.updates).toBe(1);
  rev = 2;
  await m.scrape();
  expect(steady.updates).toBe(2);
});
