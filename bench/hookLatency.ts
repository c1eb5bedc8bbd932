// How long keepalived waits for the keepwatch notify hook: p50/p99 of the POSIX sh hook over N calls
// (hyperfine -N: no shell in between, as keepalived execs it), agent up and agent down, plus the
// Node CLI (`keepwatch notify`) for comparison. The "agent up" cases run the real agent
// (node bin/keepwatch run, from dist/) with an isolated config in a temp dir: only its hook socket,
// spool and heartbeat matter here. Goal (issue 6): the hook returns within 50 ms at p99.
// Run: npx tsx bench/hookLatency.ts [--runs=200] [--cli-runs=30]   (needs hyperfine and `npm run build`)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, fmt, opt, percentile, table, writeResult } from './lib';

const HOOK = path.join(REPO, 'agent/hook/keepwatch-notify');

interface CaseResult {
  name: string;
  runs: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
  note: string;
}

function hyperfine(name: string, cmd: string, runs: number, dir: string, note: string, prepare?: string): CaseResult {
  const out = path.join(dir, `${name}.json`);
  const args = ['-N', '--runs', String(runs), '--warmup', '5', '--style', 'none', '--export-json', out];
  if (prepare) args.push('--prepare', prepare);
  execFileSync('hyperfine', [...args, cmd], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const times = (JSON.parse(fs.readFileSync(out, 'utf8')) as { results: Array<{ times: number[] }> }).results[0].times.map((t) => t * 1000);
  return {
    name,
    runs: times.length,
    p50_ms: percentile(times, 50),
    p99_ms: percentile(times, 99),
    mean_ms: times.reduce((a, b) => a + b, 0) / times.length,
    max_ms: Math.max(...times),
    note,
  };
}

async function startAgent(dir: string): Promise<ChildProcess> {
  const cfg = path.join(dir, 'keepwatch.yml');
  const off = '{enabled: false}';
  fs.writeFileSync(
    cfg,
    [
      'node: bench',
      'log: {level: warn, format: json}',
      'web: {listen_address: "127.0.0.1:0"}',
      'keepalived:',
      '  dbus_enabled: false',
      `  config: ${dir}/keepalived.conf`,
      `  pid_file: ${dir}/keepalived.pid`,
      '  dumps: {method: "off"}',
      `  hook_socket: ${dir}/hook.sock`,
      `  hook_spool: ${dir}/spool`,
      'nginx: {status_url: "http://127.0.0.1:1/nginx_status", health_url: "http://127.0.0.1:1/", health_via_vip: false}',
      `probes: {vip: ${off}, arp: ${off}, nginx_status: ${off}, nginx_health: ${off}, nginx_process: ${off}, nginx_config: ${off}}`,
      `alerting: {outbox: {path: ${dir}/outbox}, silences_file: ${dir}/silences.json}`,
      '',
    ].join('\n'),
  );
  const log = fs.openSync(path.join(dir, 'agent.log'), 'a');
  const p = spawn(process.execPath, [path.join(REPO, 'bin/keepwatch'), 'run', '--config.file', cfg], { stdio: ['ignore', log, log] });
  const end = Date.now() + 20_000;
  while (!fs.existsSync(path.join(dir, 'hook.sock')) || !fs.existsSync(path.join(dir, 'spool', 'agent.alive'))) {
    if (p.exitCode !== null || Date.now() > end) throw new Error(`agent did not start; see ${dir}/agent.log`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return p;
}

async function main(): Promise<void> {
  const runs = opt('runs', 200);
  const cliRuns = opt('cli-runs', 30);
  for (const bin of ['hyperfine', 'socat']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      console.error(`hookLatency: ${bin} not installed${bin === 'socat' ? ' (the socket case falls back to the spool)' : ''}`);
      if (bin === 'hyperfine') process.exit(2);
    }
  }
  if (!fs.existsSync(path.join(REPO, 'dist/agent/cli/main.js'))) {
    console.error('hookLatency: dist/ missing: run `npm run build` first');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-hook-'));
  const spool = path.join(dir, 'spool');
  const sock = path.join(dir, 'hook.sock');
  const hook = (extra: string) => `${HOOK} --spool ${spool} --socket ${sock}${extra} INSTANCE VI_1 MASTER 150`;
  const clean = `sh -c 'rm -f ${spool}/*.rec'`;
  const results: CaseResult[] = [];
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  let agent: ChildProcess | undefined;
  try {
    agent = await startAgent(dir);
    results.push(hyperfine('sh hook, agent up, socket', hook(''), runs, dir, 'socat to the agent socket, returns after the agent acked (event in the store)'));
    results.push(hyperfine('sh hook, agent up, spool', hook(' --no-socket'), runs, dir, 'atomic spool write; the agent ingests it via fs.watch'));
    results.push(
      hyperfine('keepwatch notify (Node CLI), agent up', `${process.execPath} ${path.join(REPO, 'bin/keepwatch')} notify --spool ${spool} --socket ${sock} INSTANCE VI_1 MASTER 150`, cliRuns, dir, 'for humans; Node start-up dominates'),
    );
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
    agent = undefined;
    results.push(hyperfine('sh hook, agent down', hook(''), runs, dir, 'no heartbeat: straight to the spool', clean));
    results.push(
      hyperfine('sh hook, agent down, deliver configured', hook(` --deliver-config ${dir}/keepwatch.yml --keepwatch /bin/true`), runs, dir, 'spool + setsid -f of the deliverer (here /bin/true: the hook\'s own cost only)', clean),
    );
  } finally {
    if (agent) agent.kill('SIGKILL');
  }
  const left = fs.readdirSync(spool).filter((n) => n.endsWith('.rec')).length;
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    table(
      results.map((r) => ({ case: r.name, runs: r.runs, 'p50 ms': fmt(r.p50_ms, 2), 'p99 ms': fmt(r.p99_ms, 2), 'mean ms': fmt(r.mean_ms, 2), 'max ms': fmt(r.max_ms, 2) })),
    ),
  );
  const sh = results.filter((r) => r.name.startsWith('sh hook'));
  const worstP99 = Math.max(...sh.map((r) => r.p99_ms));
  console.log(`\nsh hook worst p99: ${fmt(worstP99, 2)} ms (goal < 50 ms): ${worstP99 < 50 ? 'met' : 'MISSED'}; load average before ${loadBefore}, after ${load()}`);
  writeResult('hookLatency', { date: new Date().toISOString(), runs, cliRuns, loadavgBefore: loadBefore, loadavgAfter: load(), results, goalP99Ms: 50, worstShP99Ms: worstP99, spooledLeftAfterDownCases: left });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
