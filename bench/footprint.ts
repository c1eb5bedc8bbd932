// Footprint: RSS and CPU of the agent on a lab node, idle (probes every second) and then under a
// scrape every second, against prometheus-nginx-exporter (what keepwatch replaces that exists
// as a Debian package; the Go keepalived exporter has none and is not measured) in the same run,
// sampled from /proc/<pid>/stat and /proc/<pid>/status. The agent's event loop delay comes from its
// own /metrics (keepwatch_event_loop_delay_seconds, quantiles of 60 s windows that roll when
// scraped): read at each phase's start and end (the idle phase's one window), and at each scrape of
// the scraped phase (every window it rolls); the load average is recorded with each reading, since
// other work on the machine delays the loop too. The agent's CPU is given twice: its process alone and
// its whole process tree (the children it starts: bench/procTree.ts).
//
// Run (root): npx tsx bench/footprint.ts [--duration=300] [--sample=5]
//   --duration: seconds of EACH phase (idle, scraped); --sample: seconds between samples.
//   --node-options="--max-semi-space-size=2": NODE_OPTIONS for the agent (to compare V8 settings).
//   --node-flags="--no-opt" or none: `node <flags> bin/keepwatch` instead of the agent's own V8 flags.
//   --probes=default: the probes' default intervals (5-10 s) instead of every second.
//   --malloc-arena-max=2: MALLOC_ARENA_MAX for the agent (glibc arenas: native memory growth).
//   --pair=0: an agent on ka1 only (its peer's agent absent) instead of on both nodes.
//   --id=b8fq: the lab id (namespaces kw-<id>-*), to run variants at the same time.
//   --interfaces=1: the scraped phase also GETs /api/v1/interfaces with each scrape (systeminformation
//   in the agent's worker thread, read at most every 10 s): the event loop with that thread at work.
//   --mem-log=1: the agent logs its live heap after a full GC every 10 s (bench/memLog.cjs): a leak
//   shows as live heap growing, V8 sizing its heap as RSS growing alone.
import { startLab, cleanupIdSync, type Lab } from '../test/lab/lab';
import { sample as metricSample, startAgents, waitUntil } from '../test/lab/agents';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fmt, nodeFlagsOpt, opt, OUT_DIR, procSample, type ProcSample, requireRoot, runMain, sleep, slope, table, writeResult } from './lib';
import { treeMeter, type TreeCpu } from './procTree';

const EXPORTER_PORT = 9113;

/** One memory series over a phase, MiB. */
interface Series {
  mean: number;
  max: number;
  first: number;
  last: number;
  /** Least-squares slope over the phase, MiB per minute. */
  slopePerMin: number;
}

interface PhaseStats {
  seconds: number;
  cpuPercentOfCore: number;
  rss: Series;
  /** The process's own memory (RssAnon) and the mapped files' pages (RssFile, mostly the node
   * binary's code and ICU data, shared and clean): growth in the first is memory the agent keeps. */
  anon: Series;
  file: Series;
  samples: Array<{ t: number; rssMiB: number; anonMiB: number; fileMiB: number; cpuSec: number }>;
}

/** One window of keepwatch_event_loop_delay_seconds as the agent shows it, in ms, and the machine's
 *  1-minute load average when it was read. */
interface LoopWindow {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  load1: number;
}

const LOOP_WINDOW_MS = 60_000;

function loopWindow(metrics: string): LoopWindow {
  const q = (quantile: string) => {
    const v = metricSample(metrics, 'keepwatch_event_loop_delay_seconds', { quantile });
    if (v === undefined) throw new Error(`the agent's /metrics has no keepwatch_event_loop_delay_seconds{quantile="${quantile}"}`);
    return Number((v * 1000).toFixed(3));
  };
  return { p50: q('0.5'), p90: q('0.9'), p99: q('0.99'), max: q('1'), load1: Number(loadavg()[0].toFixed(2)) };
}

const sameWindow = (a: LoopWindow, b: LoopWindow) => a.p50 === b.p50 && a.p90 === b.p90 && a.p99 === b.p99 && a.max === b.max;

function series(values: number[], minutes: number[]): Series {
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    max: Math.max(...values),
    first: values[0],
    last: values[values.length - 1],
    slopePerMin: slope(minutes, values),
  };
}

function stats(samples: ProcSample[]): PhaseStats {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = (last.at - first.at) / 1000;
  const minutes = samples.map((s) => (s.at - first.at) / 60_000);
  const mib = (f: (s: ProcSample) => number) => samples.map((s) => f(s) / 1048576);
  const rss = mib((s) => s.rssBytes);
  const anon = mib((s) => s.rssAnonBytes);
  const file = mib((s) => s.rssFileBytes);
  return {
    seconds,
    cpuPercentOfCore: seconds > 0 ? ((last.cpuSec - first.cpuSec) / seconds) * 100 : NaN,
    rss: series(rss, minutes),
    anon: series(anon, minutes),
    file: series(file, minutes),
    samples: samples.map((s, i) => ({
      t: (s.at - first.at) / 1000,
      rssMiB: Number(rss[i].toFixed(2)),
      anonMiB: Number(anon[i].toFixed(2)),
      fileMiB: Number(file[i].toFixed(2)),
      cpuSec: s.cpuSec,
    })),
  };
}

async function main(): Promise<void> {
  requireRoot('footprint');
  const duration = opt('duration', 300);
  const every = opt('sample', 5);
  const nodeOptions = opt('node-options', '');
  const nodeFlags = opt('node-flags', '');
  const probes = opt('probes', '1s');
  const memLog = opt('mem-log', 0) === 1;
  const interfaces = opt('interfaces', 0) === 1;
  const pair = opt('pair', 1) === 1;
  const arenas = opt('malloc-arena-max', 0);
  // --id: the lab's id, so that variants can run side by side (RSS comparisons; CPU figures of
  // concurrent runs are not comparable).
  const id = opt('id', 'b8fp');
  const memFile = join(OUT_DIR, `footprint-mem-${id}.jsonl`);
  if (duration * 1000 < LOOP_WINDOW_MS) throw new Error(`--duration=${duration}: must be at least ${LOOP_WINDOW_MS / 1000} s, the length of the agent's event loop windows`);
  let lab: Lab | undefined;
  if (memLog) rmSync(memFile, { force: true });
  try {
    console.log(`footprint: two-node lab (${id}), ${pair ? "agents on ka1 and ka2, ka1's measured" : 'agent on ka1 only'}, probes ${probes === 'default' ? 'at their default intervals' : 'every 1 s'}${nodeOptions ? ` (NODE_OPTIONS=${nodeOptions})` : ''}${nodeFlags ? ` (node flags: ${nodeFlags})` : ''}${arenas ? ` (MALLOC_ARENA_MAX=${arenas})` : ''}; ${duration} s idle then ${duration} s with a scrape every second; samples every ${every} s`);
    lab = await startLab({ id, fifo: true });
    const node = lab.nodes[0];
    const oneSecond = { interval: '1s', timeout: '900ms' };
    // A pair, as operators run it: agents on both nodes, peered; ka1's is measured. (With ka2's
    // agent absent, ka1's would keep reconnecting to it: 0.2 % of a core in a test run.)
    const agentStartedAt = Date.now();
    const [agent] = await startAgents(lab, {
      ...(pair ? {} : { only: ['ka1'] }),
      ...nodeFlagsOpt(),
      env: {
        ...(nodeOptions || memLog ? { NODE_OPTIONS: [nodeOptions, memLog ? `--require ${join(__dirname, 'memLog.cjs')}` : ''].filter(Boolean).join(' ') } : {}),
        ...(memLog ? { KW_MEM_LOG: memFile } : {}),
        ...(arenas ? { MALLOC_ARENA_MAX: String(arenas) } : {}),
      },
      config: () => ({
        log: { level: 'warn' },
        // The dumps at their default interval (15 s), not the lab's 5 s: only the probes run each second.
        keepalived: { dumps: { interval: '15s' } },
        // arp: due each second, but arping listens 2 s (its timeout defaults to 2.5 s then): its runs
        // go back to back (the scheduler skips what overlaps).
        ...(probes === 'default' ? {} : { probes: { vip: oneSecond, arp: { interval: '1s' }, nginx_status: oneSecond, nginx_health: oneSecond, nginx_process: oneSecond } }),
      }),
    });
    const exporter = node.spawn(['prometheus-nginx-exporter', `-web.listen-address=127.0.0.1:${EXPORTER_PORT}`, '-nginx.scrape-uri=http://127.0.0.1/nginx_status']);
    const exporterUrl = `http://127.0.0.1:${await lab.forward(node, EXPORTER_PORT)}/metrics`;
    await waitUntil(async () => (await fetch(exporterUrl)).ok, 10_000, 100, 'nginx exporter up');
    await waitUntil(async () => metricSample(await agent.metrics(), 'keepalived_up') === 1, 15_000, 100, 'agent sees keepalived');
    const agentPid = agent.proc.pid!;
    const exporterPid = exporter.pid!;
    const meter = treeMeter(agentPid, `keepwatch-bench-${id}`);
    console.log(`footprint: the agent's CPU also over its process tree: ${meter.method}`);
    // Let start-up settle (JIT, first probe runs, first dumps) before the first sample, and let the
    // agent's first event loop window (which holds its start-up) fill, so that the scrape at the
    // idle phase's start rolls it and the idle window holds the idle phase alone.
    await sleep(Math.max(10_000, agentStartedAt + LOOP_WINDOW_MS + 1_000 - Date.now()));

    const phase = async (name: string, scrape: boolean) => {
      const a: ProcSample[] = [];
      const e: ProcSample[] = [];
      const tree: TreeCpu[] = [];
      const end = Date.now() + duration * 1000;
      let nextSample = Date.now();
      let nextProgress = Date.now() + 30_000;
      let scrapes = 0;
      let scrapeErrors = 0;
      // The window shown when the phase starts is the one before it: the phase's own come after.
      const before = loopWindow(await agent.metrics());
      const loop: LoopWindow[] = [];
      const seen = (w: LoopWindow) => {
        if (!sameWindow(w, loop[loop.length - 1] ?? before)) loop.push(w);
      };
      while (Date.now() <= end) {
        if (Date.now() >= nextSample) {
          const sa = procSample(agentPid);
          const se = procSample(exporterPid);
          const st = meter.sample();
          if (!sa || !st) throw new Error('the agent died during the run');
          a.push(sa);
          tree.push(st);
          if (se) e.push(se);
          nextSample += every * 1000;
        }
        if (scrape) {
          await Promise.all([agent.metrics(), fetch(exporterUrl).then((r) => r.text()), interfaces ? agent.getJson('/api/v1/interfaces') : undefined]).then(
            ([m]) => {
              scrapes++;
              seen(loopWindow(m));
            },
            () => scrapeErrors++,
          );
        }
        if (Date.now() >= nextProgress) {
          const last = a[a.length - 1];
          console.log(`  ${name}: ${Math.round((end - Date.now()) / 1000)} s left, agent RSS ${fmt(last.rssBytes / 1048576)} MiB, CPU ${fmt(last.cpuSec, 2)} s so far`);
          nextProgress += 30_000;
        }
        await sleep(Math.max(0, Math.min(1000, end - Date.now() + 1)));
      }
      if (!scrape) seen(loopWindow(await agent.metrics()));
      const t0 = tree[0];
      const t1 = tree[tree.length - 1];
      const treeCpuPercentOfCore = ((t1.cpuSec - t0.cpuSec) / ((t1.at - t0.at) / 1000)) * 100;
      return { agent: stats(a), agentTree: { cpuPercentOfCore: treeCpuPercentOfCore, children: [...new Set(tree.flatMap((t) => t.children))] }, exporter: stats(e), scrapes, scrapeErrors, loop };
    };

    const idle = await phase('idle', false);
    const scraped = await phase('scraped', true);
    exporter.kill('SIGTERM');

    const row = (what: string, s: PhaseStats, treeCpu?: number) => ({
      process: what,
      'CPU % core': fmt(s.cpuPercentOfCore, 2),
      'tree CPU % core': treeCpu === undefined ? '' : fmt(treeCpu, 2),
      'RSS mean MiB': fmt(s.rss.mean),
      'RSS max MiB': fmt(s.rss.max),
      'RSS first->last': `${fmt(s.rss.first)}->${fmt(s.rss.last)}`,
      'slope MiB/min': fmt(s.rss.slopePerMin, 3),
      'anon mean MiB': fmt(s.anon.mean),
      'anon first->last': `${fmt(s.anon.first)}->${fmt(s.anon.last)}`,
      'anon slope MiB/min': fmt(s.anon.slopePerMin, 3),
      'file mean MiB': fmt(s.file.mean),
    });
    console.log(`\nidle (probes ${probes === 'default' ? 'at default intervals' : 'every 1 s'}, no scrapes):`);
    console.log(table([row('keepwatch', idle.agent, idle.agentTree.cpuPercentOfCore), row('prometheus-nginx-exporter', idle.exporter)]));
    console.log(`\nscraped every second${interfaces ? ', with /api/v1/interfaces' : ''} (${scraped.scrapes} scrape pairs, ${scraped.scrapeErrors} errors):`);
    console.log(table([row('keepwatch', scraped.agent, scraped.agentTree.cpuPercentOfCore), row('prometheus-nginx-exporter', scraped.exporter)]));
    console.log(`(tree CPU: ${meter.method}; children seen: ${idle.agentTree.children.join(', ') || 'none'})`);
    meter.close();
    console.log('(the Go keepalived exporter it also replaces: not measured, no Debian package of it)');
    const loopRow = (what: string, ws: LoopWindow[]) => ({
      phase: what,
      windows: ws.length,
      'p50 ms': fmt(Math.max(...ws.map((w) => w.p50)), 2),
      'p99 ms (worst window)': fmt(Math.max(...ws.map((w) => w.p99)), 2),
      'max ms': fmt(Math.max(...ws.map((w) => w.max)), 1),
      'load avg 1 min': ws.map((w) => fmt(w.load1, 2)).join(' '),
    });
    console.log(`\nagent event loop delay (keepwatch_event_loop_delay_seconds, ${LOOP_WINDOW_MS / 1000} s windows):`);
    console.log(table([loopRow('idle', idle.loop), loopRow('scraped', scraped.loop)]));
    const worstP99 = Math.max(...[...idle.loop, ...scraped.loop].map((w) => w.p99));
    console.log(`goals: idle CPU < 1% of a core (process tree): ${idle.agentTree.cpuPercentOfCore < 1 ? 'met' : 'NOT met'}; RSS < 80 MB (76.3 MiB): ${Math.max(idle.agent.rss.max, scraped.agent.rss.max) * 1048576 < 80e6 ? 'met' : 'NOT met'}; event loop p99 < 10 ms: ${worstP99 < 10 ? 'met' : 'NOT met'}`);
    let mem: Array<{ t: number; heapUsedMiB: number; rssMiB: number }> = [];
    if (memLog && existsSync(memFile)) {
      const rows = readFileSync(memFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: number; heapUsed: number; rss: number });
      mem = rows.map((r) => ({ t: (r.at - rows[0].at) / 1000, heapUsedMiB: Number((r.heapUsed / 1048576).toFixed(2)), rssMiB: Number((r.rss / 1048576).toFixed(1)) }));
      const hs = slope(mem.map((m) => m.t / 60), mem.map((m) => m.heapUsedMiB));
      console.log(`live heap after full GC: ${mem[0]?.heapUsedMiB} -> ${mem[mem.length - 1]?.heapUsedMiB} MiB over ${fmt(mem[mem.length - 1]?.t ?? 0, 0)} s (slope ${fmt(hs, 3)} MiB/min)`);
    }
    const name = ['footprint', probes === 'default' ? 'default-probes' : '', nodeOptions ? 'node-options' : '', arenas ? `arenas${arenas}` : '', memLog ? 'memlog' : '', interfaces ? 'interfaces' : '', id !== 'b8fp' ? id : ''].filter(Boolean).join('-');
    const options = { duration, every, nodeOptions, nodeFlags, probes, memLog, arenas, pair, interfaces };
    const brief = (p: typeof idle) => ({ ...p, agent: { ...p.agent, samples: undefined }, exporter: { ...p.exporter, samples: undefined } });
    writeResult(name, { options, cpuTreeMeasuredOver: meter.method, idle, scraped, liveHeapAfterGc: mem }, { options, cpuTreeMeasuredOver: meter.method, idle: brief(idle), scraped: brief(scraped), liveHeapAfterGcEnds: mem.length ? [mem[0], mem[mem.length - 1]] : [] });
  } finally {
    await lab?.stop();
    cleanupIdSync(id);
  }
}

runMain(main);
