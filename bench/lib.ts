// Shared helpers of the benchmarks: options from argv/env, results as JSON (in full under
// bench/out/, summarised under bench/out-committed/, where bench/results.ts makes RESULTS.md's
// tables from), percentiles, process sampling from /proc, the machine's description, wrk output parsing.
// Benchmarks are evidence, not tests: they print figures and never fail on a target missed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

export const REPO = resolve(__dirname, '..');
export const OUT_DIR = join(REPO, 'bench/out');
/** The summarised JSON of the latest run of each bench: committed, and the only source of the
 *  figures in bench/RESULTS.md (bench/results.ts writes its tables from these files). */
export const COMMITTED_DIR = join(REPO, 'bench/out-committed');

/** The load when this bench started: the machine is shared, so each run says how busy it was. */
const STARTED = { at: new Date().toISOString(), loadavg: loadavg() };

function loadavg(): number[] {
  return os.loadavg().map((l) => Number(l.toFixed(2)));
}

/** `--name=value` from argv, else env KW_BENCH_<NAME>, else the default. */
export function opt(name: string, def: number): number;
export function opt(name: string, def: string): string;
export function opt(name: string, def: number | string): number | string {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = flag ? flag.slice(name.length + 3) : process.env[`KW_BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  if (raw === undefined || raw === '') return def;
  if (typeof def === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${raw}`);
    return n;
  }
  return raw;
}

/**
 * --node-flags="--no-opt": run the agent as `node <flags> bin/keepwatch`, to compare V8 flags
 * (NODE_OPTIONS refuses most); "none": node without flags; unset: the agent's own V8 flags, as
 * `run` gives them (agent/cli/daemonFlags.ts). Spread into startAgents' options.
 */
export function nodeFlagsOpt(): { nodeArgs?: string[] } {
  const flags = opt('node-flags', '');
  if (!flags) return {};
  return { nodeArgs: flags === 'none' ? [] : flags.split(/\s+/) };
}

/** Runs a benchmark: an error (not a missed goal, which only prints) is printed and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

export function requireRoot(bench: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.error(`${bench}: needs root (it runs the lab in network namespaces); skipped`);
    process.exit(2);
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export function summary(values: number[]): { n: number; p50: number; p95: number; max: number; min: number; mean: number } {
  const n = values.length;
  return {
    n,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: n ? Math.max(...values) : NaN,
    min: n ? Math.min(...values) : NaN,
    mean: n ? values.reduce((a, b) => a + b, 0) / n : NaN,
  };
}

/** Least-squares slope of y over x (per unit of x). */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

export function machine(): Record<string, unknown> {
  // Some print their version on stderr (keepalived, nginx), some exit non-zero (wrk): take the first line of either.
  const ver = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).find(Boolean) ?? 'n/a';
  };
  return {
    date: new Date().toISOString(),
    startedAt: STARTED.at,
    /** uptime's three load averages when the run started and when it ended (`loadavg`). */
    loadavgAtStart: STARTED.loadavg,
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memMiB: Math.round(os.totalmem() / 1048576),
    kernel: os.release(),
    loadavg: loadavg(),
    node: process.version,
    keepwatch: (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version,
    gitHead: ver('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    keepalived: ver('keepalived', ['--version']),
    nginx: ver('nginx', ['-v']),
    nginxExporter: ver('prometheus-nginx-exporter', ['--version']),
    prometheus: ver('prometheus', ['--version']),
    alertmanager: ver('prometheus-alertmanager', ['--version']),
    wrk: ver('wrk', ['--version']),
  };
}

/**
 * Writes the run's JSON in full to bench/out/<name>.json and, when `summary` is given, the figures
 * RESULTS.md may quote (no raw samples) to bench/out-committed/<name>.json, both with the machine
 * and its load. Commit the latter with the RESULTS.md regenerated from it (`npx tsx bench/results.ts`).
 */
export function writeResult(name: string, data: Record<string, unknown>, summary?: Record<string, unknown>): string {
  const m = machine();
  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, machine: m, ...data }, null, 2) + '\n');
  console.log(`\n${name}: results written to ${file}`);
  if (summary) {
    mkdirSync(COMMITTED_DIR, { recursive: true });
    const kept = join(COMMITTED_DIR, `${name}.json`);
    writeFileSync(kept, JSON.stringify({ bench: name, machine: m, ...summary }, null, 2) + '\n');
    console.log(`${name}: summary written to ${kept} (commit it; \`npx tsx bench/results.ts\` rewrites RESULTS.md's tables from it)`);
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// /proc sampling

export const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on
const PAGE = 4096;

export interface ProcSample {
  at: number;
  /** utime + stime in seconds. */
  cpuSec: number;
  /** The two apart: user (utime) and kernel (stime) time, seconds. */
  userSec: number;
  systemSec: number;
  /** voluntary_ctxt_switches: how often the process went to sleep and was woken (timers, I/O). */
  wakeups: number;
  rssBytes: number;
  /** RssAnon: the process's own memory (heaps, stacks, malloc); what grows when it leaks. */
  rssAnonBytes: number;
  /** RssFile: pages of mapped files (the node binary: V8, ICU data), clean and shared with every
   * node process; they are counted in RSS once touched and grow as more code paths run. */
  rssFileBytes: number;
}

/** The fields of /proc/<pid>/stat the benchmarks read; times in clock ticks (CLK_TCK). */
export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  utime: number;
  stime: number;
  /** CPU of its children that exited and were reaped. */
  cutime: number;
  cstime: number;
  rssPages: number;
}

/** /proc/<pid>/stat, or undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: fields start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i]);
  return { pid, ppid: n(1), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), utime: n(11), stime: n(12), cutime: n(13), cstime: n(14), rssPages: n(21) };
}

/** CPU (user+system) and RSS of one pid, from /proc/<pid>/stat and /proc/<pid>/status. */
export function procSample(pid: number): ProcSample | undefined {
  try {
    const st = readProcStat(pid);
    if (!st) return undefined;
    const { utime, stime } = st;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const rss = m ? Number(m[1]) * 1024 : st.rssPages * PAGE;
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const wakeups = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    return {
      at: Date.now(),
      cpuSec: (utime + stime) / CLK_TCK,
      userSec: utime / CLK_TCK,
      systemSec: stime / CLK_TCK,
      wakeups,
      rssBytes: rss,
      rssAnonBytes: kb('RssAnon'),
      rssFileBytes: kb('RssFile'),
    };
  } catch {
    return undefined;
  }
}

/** Sum of samples over several pids (the exporters keepwatch replaces). */
export function procSampleSum(pids: number[]): ProcSample | undefined {
  const all = pids.map(procSample);
  if (all.some((s) => !s)) return undefined;
  return all.reduce((a, b) => ({
    at: Math.max(a!.at, b!.at),
    cpuSec: a!.cpuSec + b!.cpuSec,
    userSec: a!.userSec + b!.userSec,
    systemSec: a!.systemSec + b!.systemSec,
    wakeups: a!.wakeups + b!.wakeups,
    rssBytes: a!.rssBytes + b!.rssBytes,
    rssAnonBytes: a!.rssAnonBytes + b!.rssAnonBytes,
    rssFileBytes: a!.rssFileBytes + b!.rssFileBytes,
  }))!;
}

// ---------------------------------------------------------------------------------------------
// wrk

export interface WrkResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  transferPerSec: string;
}

function ms(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out);
  const req = /(\d+) requests in/.exec(out);
  const tps = /Transfer\/sec:\s+(\S+)/.exec(out);
  const err = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (!rps || !p99 || !p50) throw new Error(`wrk output not understood:\n${out}`);
  return {
    requestsPerSec: Number(rps[1]),
    p50Ms: ms(p50[1], p50[2]),
    p99Ms: ms(p99[1], p99[2]),
    requests: req ? Number(req[1]) : NaN,
    errors: (err ? Number(err[1]) : 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
    transferPerSec: tps ? tps[1] : '',
  };
}

export { sleep } from '../test/helpers/wait';

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** A fixed-width table for the console. */
export function table(rows: Array<Record<string, string | number>>): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(w[i])).join('  ');
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => String(r[c]))))].join('\n');
}
