// Start-up: how long `keepwatch --version` and `keepwatch notify --help` take next to `node -e 0`
// (goal: within 1.5x), and their peak RSS, all in the same hyperfine run. bin/keepwatch runs as
// installed (plain node: only `run` takes the agent's V8 flags). Needs the
// build (npm run build) and hyperfine (Debian's package). KW_BENCH_BASELINE=<dir of another
// checkout with dist/ built> adds that build's two commands, to compare against it in this run.
// Run: npx tsx bench/startup.ts [--runs=40]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, opt, REPO, runMain, table, writeResult } from './lib';

const GOAL_RATIO = 1.5;

interface HyperfineResult {
  command: string;
  mean: number;
  stddev: number;
  median: number;
  min: number;
  max: number;
  /** Mean CPU seconds in user and kernel mode: steadier than wall time on a busy machine. */
  user: number;
  system: number;
  times: number[];
}

/** Peak RSS of one run, MiB (GNU time's %M, KiB), the median of `n` runs. */
function peakRssMiB(cmd: string, n = 5): number {
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', `${cmd} >/dev/null 2>&1`], { encoding: 'utf8', timeout: 30_000 });
    const kib = Number(r.stderr.trim().split('\n').at(-1));
    if (Number.isFinite(kib)) values.push(kib / 1024);
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const runs = opt('runs', 40);
  const bin = join(REPO, 'bin/keepwatch');
  if (!existsSync(join(REPO, 'dist/agent/cli/main.js'))) throw new Error('dist/ is not built: npm run build first');
  const commands: Array<{ name: string; cmd: string }> = [
    { name: 'node -e 0', cmd: 'node -e 0' },
    { name: 'keepwatch --version', cmd: `${bin} --version` },
    { name: 'keepwatch notify --help', cmd: `${bin} notify --help` },
  ];
  const baseline = opt('baseline', '');
  if (baseline) {
    commands.push({ name: 'baseline keepwatch --version', cmd: `${join(baseline, 'bin/keepwatch')} --version` });
    commands.push({ name: 'baseline keepwatch notify --help', cmd: `${join(baseline, 'bin/keepwatch')} notify --help` });
  }
  const tmp = mkdtempSync(join(tmpdir(), 'kw-startup-'));
  const json = join(tmp, 'hyperfine.json');
  const args = ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', json];
  for (const c of commands) args.push('-n', c.name, c.cmd);
  const r = spawnSync('hyperfine', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`hyperfine: ${r.error.message} (apt-get install hyperfine)`);
  if (r.status !== 0) throw new Error(`hyperfine exited ${r.status}`);
  const results = (JSON.parse(readFileSync(json, 'utf8')) as { results: HyperfineResult[] }).results;
  const nodeMean = results[0].mean;
  const rows = results.map((x, i) => ({
    command: x.command,
    meanMs: Number((x.mean * 1000).toFixed(1)),
    stddevMs: Number((x.stddev * 1000).toFixed(1)),
    medianMs: Number((x.median * 1000).toFixed(1)),
    minMs: Number((x.min * 1000).toFixed(1)),
    maxMs: Number((x.max * 1000).toFixed(1)),
    ratioToNode: Number((x.mean / nodeMean).toFixed(2)),
    cpuMs: Number(((x.user + x.system) * 1000).toFixed(1)),
    cpuRatioToNode: Number(((x.user + x.system) / (results[0].user + results[0].system)).toFixed(2)),
    peakRssMiB: Number(peakRssMiB(commands[i].cmd).toFixed(1)),
  }));
  console.log(`\n${table(rows.map((x) => ({ command: x.command, 'mean ms': fmt(x.meanMs), '± ms': fmt(x.stddevMs), 'median ms': fmt(x.medianMs), 'x node -e 0': fmt(x.ratioToNode, 2), 'CPU ms': fmt(x.cpuMs), 'CPU x node': fmt(x.cpuRatioToNode, 2), 'peak RSS MiB': fmt(x.peakRssMiB) })))}`);
  for (const name of ['keepwatch --version', 'keepwatch notify --help']) {
    const row = rows.find((x) => x.command === name)!;
    console.log(`${name}: ${fmt(row.ratioToNode, 2)}x node -e 0 in wall time, ${fmt(row.cpuRatioToNode, 2)}x in CPU time (goal ≤ ${GOAL_RATIO}x): ${row.ratioToNode <= GOAL_RATIO ? 'met' : 'MISSED'}`);
  }
  const result = { runs, goalRatio: GOAL_RATIO, results: rows };
  writeResult('startup', result, result);
}

runMain(main);
