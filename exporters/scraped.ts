// A gauge or counter whose samples are read from the collector's sources at each scrape, in its
// prom-client collect(): the metric is reset, then holds exactly what `read` gives. A label-less
// one reads a number (undefined: 0, which prom-client prints for a label-less metric anyway; wrap
// it in silentWhen where 0 would be a claim); a labelled one reads its samples, and prints no
// series that `read` does not give (none left over from an earlier scrape). Counters are read as
// totals kept elsewhere (the store, a source's stats), so a reset loses nothing.
import { Counter, Gauge, type LabelValues } from 'prom-client';

/** One series of a labelled metric: its labels and value. */
export type Sample<L extends string> = readonly [LabelValues<L>, number];

interface Spec {
  name: string;
  help: string;
}

interface LabelledSpec<L extends string> extends Spec {
  labelNames: readonly L[];
}

type Read<L extends string> = () => number | undefined | Iterable<Sample<L>>;

/** What `read` gives as samples: a label-less value is the one sample with no labels. */
function samplesOf<L extends string>(read: Read<L>): Iterable<Sample<L>> {
  const r = read();
  return typeof r === 'number' ? [[{}, r]] : (r ?? []);
}

export function scrapedGauge(spec: Spec, read: () => number | undefined): Gauge;
export function scrapedGauge<L extends string>(spec: LabelledSpec<L>, read: () => Iterable<Sample<L>>): Gauge<L>;
export function scrapedGauge<L extends string>(spec: Spec & { labelNames?: readonly L[] }, read: Read<L>): Gauge<L> {
  const collect = function (this: Gauge<L>) {
    this.reset();
    for (const [labels, v] of samplesOf(read)) this.set(labels, v);
  };
  return new Gauge<L>({ ...spec, registers: [], collect });
}

export function scrapedCounter(spec: Spec, read: () => number | undefined): Counter;
export function scrapedCounter<L extends string>(spec: LabelledSpec<L>, read: () => Iterable<Sample<L>>): Counter<L>;
export function scrapedCounter<L extends string>(spec: Spec & { labelNames?: readonly L[] }, read: Read<L>): Counter<L> {
  const collect = function (this: Counter<L>) {
    this.reset();
    for (const [labels, v] of samplesOf(read)) this.inc(labels, v);
  };
  return new Counter<L>({ ...spec, registers: [], collect });
}
