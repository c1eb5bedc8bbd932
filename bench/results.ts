// bench/RESULTS.md's tables, made from the committed JSON of the runs they quote
// (bench/out-committed/<bench>.json, written by each bench's writeResult), so that no figure in
// a table can drift from its run. In RESULTS.md a generated block sits between
//   <!-- generated: <block> -->   and   <!-- /generated -->
// and is rewritten whole; the prose around it is the author's and must not quote figures the
// block does not hold.
// Run: npx tsx bench/results.ts          (rewrites bench/RESULTS.md)
//      npx tsx bench/results.ts --check  (exit 1 when a block differs from its JSON, or a JSON is missing)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMITTED_DIR, REPO } from './lib';

const RESULTS = join(REPO, 'bench/RESULTS.md');

// The JSON is read loosely: each bench owns its shape, a generator names the fields it uses.
type Json = any;

const n = (v: number, digits = 1): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
/** Thousands apart with a thin space, as the prose writes them (29 330). */
const int = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US').replace(/,/g, ' ') : 'n/a');
const ratio = (a: number, b: number, digits = 2): string => (b ? n(a / b, digits) : 'n/a');

function md(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The run's line: when, which build, how busy the machine was. */
function runLine(j: Json, file: string): string {
  const m = j.machine ?? {};
  const start = m.startedAt ? `${String(m.startedAt).slice(0, 16).replace('T', ' ')}-` : '';
  const end = String(m.date ?? '').slice(0, 16).replace('T', ' ');
  const end2 = start && end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end;
  const load = m.loadavgAtStart ? `load average (1/5/15 min) ${m.loadavgAtStart.join('/')} at the start, ${m.loadavg?.join('/')} at the end` : `load average (1/5/15 min) ${m.loadavg?.join('/')} at the end`;
  return `Run ${start}${end2} UTC, git ${m.gitHead}, Node.js ${m.node}, ${m.nproc} cores, ${load}. JSON: \`bench/out-committed/${file}\`.`;
}

/** scrapeCost's rows for one size: keepwatch's and the exporter's. */
function targetsAt(j: Json, size: number): { kw: Json; go: Json } {
  return {
    kw: j.rows.find((r: Json) => r.instances === size && r.target === 'keepwatch'),
    go: j.rows.find((r: Json) => r.instances === size && r.target !== 'keepwatch'),
  };
}

const GENERATORS: Record<string, { file: string; make(j: Json): string }> = {
  startup: {
    file: 'startup.json',
    make: (j) =>
      md(
        ['command', 'mean ms', '± ms', 'x `node -e 0`', 'CPU ms (user+sys)', 'CPU x `node -e 0`', 'peak RSS MiB'],
        j.results.map((r: Json) => [`\`${r.command}\``, n(r.meanMs, 0), n(r.stddevMs, 0), n(r.ratioToNode, 2), n(r.cpuMs, 0), n(r.cpuRatioToNode, 2), n(r.peakRssMiB)]),
      ),
  },
  'scrapeCost.prometheus': {
    file: 'scrapeCost.json',
    make: (j) => {
      const rows: string[][] = [];
      for (const size of j.options.sizes as number[]) {
        const { kw, go } = targetsAt(j, size);
        for (const r of [kw, go]) {
          rows.push([
            String(size),
            r.target,
            n(r.prom.latencyMs.p50, 2),
            n(r.prom.latencyMs.p95, 2),
            n(r.prom.cpuMs.p50, 3),
            n(r.prom.cpuMs.mean, 3),
            int(r.prom.wireBytes),
            r.prom.changesSeen === null ? 'live' : `${r.prom.changesSeen} of ${r.prom.scrapes}`,
            r === kw ? `**${ratio(kw.prom.cpuMs.p50, go.prom.cpuMs.p50)}**, ${ratio(kw.prom.latencyMs.p50, go.prom.latencyMs.p50)}` : '',
          ]);
        }
      }
      return md(['instances', 'target', 'latency p50 ms', 'p95 ms', 'CPU per scrape p50 ms', 'mean ms', 'bytes on the wire', 'after a store change', 'keepwatch / exporter: CPU, latency'], rows);
    },
  },
  'scrapeCost.reused': {
    file: 'scrapeCost.json',
    make: (j) => {
      const rows: string[][] = [];
      for (const size of j.options.sizes as number[]) {
        const { kw, go } = targetsAt(j, size);
        rows.push([String(size), `${int(kw.requestsPerSec)}, ${n(kw.p50Ms, 2)} / ${n(kw.p99Ms, 2)}`, `${int(go.requestsPerSec)}, ${n(go.p50Ms, 2)} / ${n(go.p99Ms, 2)}`, ratio(kw.requestsPerSec, go.requestsPerSec), `${int(kw.bytes)} vs ${int(go.bytes)} (${int(kw.series)} vs ${int(go.series)} series)`]);
      }
      return md(['instances', 'keepwatch req/s, p50 / p99 ms', 'prometheus-nginx-exporter req/s, p50 / p99 ms', 'throughput ratio', 'bytes/scrape'], rows);
    },
  },
  scrapeMicro: {
    file: 'scrapeMicro.json',
    make: (j) =>
      md(
        ['instances', 'bytes', 'unchanged store, mean µs', 'p99 µs', 'changed store, mean µs', 'p99 µs'],
        j.rows.map((r: Json) => [String(r.instances), int(r.bytes), n(r.unchangedMeanUs, 0), n(r.unchangedP99Us, 0), n(r.changedMeanUs, 0), n(r.changedP99Us, 0)]),
      ) + `\n\n${j.options.iterations} scrapes of each kind per size, after 200 to warm up.`,
  },
  idleCpu: {
    file: 'idleCpu.json',
    make: (j) =>
      md(
        ['variant', 'CPU % of a core (process tree)', 'user %', 'system %', 'agent process alone %', 'its children %', 'wake-ups/s (agent)'],
        j.rows.map((r: Json) => [r.variant, `**${n(r.cpuPercent, 2)}**`, n(r.userPercent, 2), n(r.systemPercent, 2), n(r.agentProcessPercent, 2), n(r.childrenPercent, 2), n(r.wakeupsPerSecond, 1)]),
      ) + `\n\n${j.options.windowS} s per variant; CPU over ${j.cpuMeasuredOver}. Live children seen: ${[...new Set(j.rows.flatMap((r: Json) => r.children))].join(', ') || 'none'}.`,
  },
  hookLatency: {
    file: 'hookLatency.json',
    make: (j) =>
      md(
        ['agent', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'records counted'],
        [
          ['up (record over the Unix socket)', n(j.agentUp.p50, 2), n(j.agentUp.p95, 2), `**${n(j.agentUp.p99, 2)}**`, n(j.agentUp.max, 2), `${j.countedWhileUp} of ${j.calls ?? j.options.runs + 5} (incl. warm-up)`],
          ['down (record spooled)', n(j.agentDown.p50, 2), n(j.agentDown.p95, 2), n(j.agentDown.p99, 2), n(j.agentDown.max, 2), '(ingested on start)'],
        ],
      ) + `\n\n${j.options.runs} calls per case (hyperfine -N, 5 warm-up calls).`,
  },
  footprint: {
    file: 'footprint.json',
    make: (j) => {
      const row = (what: string, phase: string, s: Json, tree?: Json) => [
        what,
        phase,
        tree ? `**${n(tree.cpuPercentOfCore, 2)}**` : '',
        n(s.cpuPercentOfCore, 2),
        `${n(s.rss.mean)} / ${n(s.rss.max)}`,
        `${n(s.rss.first)} -> ${n(s.rss.last)}`,
        n(s.rss.slopePerMin, 2),
        `${n(s.anon.first)} -> ${n(s.anon.last)}`,
        n(s.file.mean),
      ];
      return (
        md(
          ['process', 'phase', 'CPU % of a core (process tree)', 'process alone %', 'RSS mean / max MiB', 'RSS first -> last', 'slope MiB/min', 'RssAnon first -> last', 'RssFile'],
          [row('keepwatch', 'idle', j.idle.agent, j.idle.agentTree), row('keepwatch', 'scraped every 1 s', j.scraped.agent, j.scraped.agentTree), row('prometheus-nginx-exporter', 'idle', j.idle.exporter), row('prometheus-nginx-exporter', 'scraped every 1 s', j.scraped.exporter)],
        ) + `\n\n${j.options.duration} s per phase, probes ${j.options.probes === 'default' ? 'at their default intervals' : 'every 1 s'}; tree CPU over ${j.cpuTreeMeasuredOver}.`
      );
    },
  },
  fleet: {
    file: 'fleet.json',
    make: (j) =>
      md(
        ['pairs', 'agents', "agents' RSS MiB (per agent)", "agents' CPU % of a core", 'Alertmanager RSS MiB / CPU %', 'Prometheus RSS MiB / CPU %', 'fault to Alertmanager, ms'],
        j.steps.map((s: Json) => [String(s.pairs), String(s.pairs * 2), `${n(s.agents.rssMiB)} (${n(s.agents.perAgentRssMiB)})`, n(s.agents.cpuPercentOfCore), `${n(s.alertmanager.rssMiB)} / ${n(s.alertmanager.cpuPercentOfCore, 2)}`, `${n(s.prometheus.rssMiB)} / ${n(s.prometheus.cpuPercentOfCore, 2)}`, s.faultToAlertmanagerMs.join(', ')]),
      ),
  },
  incidents: {
    file: 'incidents.json',
    make: (j) =>
      md(
        ['incident', 'keepwatch first', 'keepwatch notifications (incidents)', 'alerts in them', 'Prometheus path first', 'Alertmanager notifications'],
        j.results.map((r: Json) => [
          r.title,
          r.keepwatch.firstMs === null ? 'none' : `${n(r.keepwatch.firstMs / 1000, 2)} s`,
          `${r.keepwatch.notifications} (${r.keepwatch.incidents})`,
          r.keepwatch.alerts.join(', ') || '-',
          r.prometheus.firstMs === null ? `none in ${r.windowSeconds} s` : `${n(r.prometheus.firstMs / 1000)} s`,
          `${r.prometheus.notifications}${r.prometheus.groupsOwingResolved ? ` (+${r.prometheus.groupsOwingResolved} to come)` : ''}`,
        ]),
      ),
  },
};

/** Rewrites every generated block of `text`; the names of blocks whose JSON is missing. */
export function regenerate(text: string, dir = COMMITTED_DIR): { text: string; missing: string[]; unknown: string[] } {
  const missing: string[] = [];
  const unknown: string[] = [];
  const out = text.replace(/<!-- generated: ([\w.-]+) -->\n[\s\S]*?<!-- \/generated -->/g, (whole, name: string) => {
    const g = GENERATORS[name];
    if (!g) {
      unknown.push(name);
      return whole;
    }
    const file = join(dir, g.file);
    if (!existsSync(file)) {
      missing.push(`${name} (${g.file})`);
      return whole;
    }
    const j = JSON.parse(readFileSync(file, 'utf8')) as Json;
    return `<!-- generated: ${name} -->\n${g.make(j)}\n\n${runLine(j, g.file)}\n<!-- /generated -->`;
  });
  return { text: out, missing, unknown };
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const before = readFileSync(RESULTS, 'utf8');
  const { text, missing, unknown } = regenerate(before);
  for (const m of missing) console.error(`results: no committed JSON for block ${m}`);
  for (const u of unknown) console.error(`results: RESULTS.md names an unknown block: ${u}`);
  if (check) {
    const stale = text !== before;
    if (stale) console.error('results: bench/RESULTS.md differs from bench/out-committed/ (npx tsx bench/results.ts rewrites it)');
    process.exit(stale || missing.length || unknown.length ? 1 : 0);
  }
  if (text !== before) writeFileSync(RESULTS, text);
  console.log(`results: ${text === before ? 'bench/RESULTS.md already matches' : 'bench/RESULTS.md rewritten from'} bench/out-committed/`);
  if (missing.length || unknown.length) process.exit(1);
}
