// The scrape over collectors (exporters/registry.ts) with the Collector contract: each collector's
// metrics rendered in a registry of its own, a collector whose collect() throws marked failed
// without breaking /metrics, text reused while a collector's revision holds.
import { Gauge } from 'prom-client';
import { createMetricsRegistry } from '../../../exporters/registry';
import type { Collector } from '../../../exporters/collector';

function gaugeCollector(name: string, value: () => number, revision?: () => unknown): Collector {
  return {
    name,
    revision,
    metrics: [
      new Gauge({
        name: `test_${name}`,
        help: `${name} value`,
        labelNames: ['k'],
        registers: [],
        collect() {
          this.reset();
          this.set({ k: 'a' }, 1);
          this.set({ k: 'b' }, value());
        },
      }),
    ],
  };
}

test('a throwing collect() fails its collector only: success 0, none of its half-set series; the others as usual', async () => {
  let broken = true;
  const m = createMetricsRegistry([
    gaugeCollector('bad', () => {
      if (broken) throw new Error('boom');
      return 2;
    }),
    gaugeCollector('good', () => 3),
  ]);
  let body = (await m.scrape()).body;
  expect(body).toMatch(/^keepwatch_scrape_collector_success\{collector="bad"\} 0$/m);
  expect(body).toMatch(/^keepwatch_scrape_collector_success\{collector="good"\} 1$/m);
  expect(body).not.toMatch(/^test_bad/m);
  expect(body).toMatch(/^test_good\{k="b"\} 3$/m);
  broken = false;
  body = (await m.scrape()).body;
  expect(body).toMatch(/^keepwatch_scrape_collector_success\{collector="bad"\} 1$/m);
  expect(body).toMatch(/^test_bad\{k="b"\} 2$/m);
});

test('while a collector\'s revision holds, its collect() is not run and its text is reused', async () => {
  let calls = 0;
  let rev = 1;
  const m = createMetricsRegistry([
    gaugeCollector(
      'cached',
      () => ++calls,
      () => rev,
    ),
  ]);
  const first = await m.scrape();
  expect(first.body).toMatch(/^test_cached\{k="b"\} 1$/m);
  expect((await m.scrape()).buffer).toBe(first.buffer);
  expect(calls).toBe(1);
  rev = 2;
  expect((await m.scrape()).body).toMatch(/^test_cached\{k="b"\} 2$/m);
});
