// Bursts: 10,000 notify FIFO lines and 1,000 notify hook calls in about one second, into a real
// agent on a lab node. Every line written must be a line the agent read
// (keepwatch_fifo_lines_total), every hook call a record it received
// (keepwatch_hook_records_total: applied + duplicate + superseded), and its RSS is sampled before,
// at the peak and after.
// The FIFO writer behaves like keepalived: the FIFO opened O_RDWR|O_NONBLOCK, one write() per line,
// a line dropped (not retried) on EAGAIN; such drops are losses the agent caused by not draining.
//
// Run (root): npx tsx bench/bursts.ts [--lines=10000] [--hooks=1000] [--spread=1000] [--settle=30]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startLab, cleanupIdSync, type Lab } from '../test/lab/lab';
import { sample, startAgents, waitUntil, type LabAgent } from '../test/lab/agents';
import { fmt, opt, procSample, REPO, requireRoot, runMain, sleep, writeResult } from './lib';

const HOOK = join(REPO, 'agent/hook/keepwatch-notify');

/** FIFO lines as keepalived writes them: transitions, priority changes, checker states. */
function fifoLine(i: number): string {
  switch (i % 4) {
    case 0:
      return 'INSTANCE "VI_1" MASTER 150';
    case 1:
      return 'INSTANCE "VI_1" MASTER_PRIORITY 150';
    case 2:
      return 'VS [192.0.2.100]:tcp:80 UP';
    default:
      return 'RS [192.0.2.11]:tcp:80 [192.0.2.100]:tcp:80 UP';
  }
}

async function writeFifo(path: string, n: number, spreadMs: number): Promise<{ dropped: number; writeMs: number }> {
  const lines = Array.from({ length: 64 }, (_, i) => fifoLine(i));
  const writer = `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(path)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const lines = ${JSON.stringify(lines)};
    const N = ${n}, spread = ${spreadMs};
    let dropped = 0, i = 0;
    const t0 = Date.now();
    function batch() {
      const due = spread ? Math.min(N, Math.ceil(((Date.now() - t0 + 1) / spread) * N)) : N;
      for (; i < due; i++) {
        try { fs.writeSync(fd, lines[i % lines.length] + '\\n'); }
        catch (e) { if (e.code === 'EAGAIN') dropped++; else throw e; }
      }
      if (i < N) setImmediate(batch); else { process.stdout.write(JSON.stringify({ dropped, writeMs: Date.now() - t0 })); process.exit(0); }
    }
    batch();`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', writer], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`FIFO writer exited ${code}`))));
  });
}

async function callHooks(agent: LabAgent, n: number, spreadMs: number): Promise<{ ok: number; failed: number; wallMs: number; latencies: number[] }> {
  const spool = join(agent.dataDir, 'spool');
  const sock = join(agent.dataDir, 'hook.sock');
  const t0 = Date.now();
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  const running: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (spreadMs * i) / n;
    if (Date.now() < due) await sleep(due - Date.now());
    const start = performance.now();
    running.push(
      new Promise<void>((resolve) => {
        const c = spawn('sh', [HOOK, '--spool', spool, '--socket', sock, 'INSTANCE', 'VI_1', 'MASTER', '150'], { stdio: 'ignore' });
        c.on('exit', (code) => {
          latencies.push(performance.now() - start);
          if (code === 0) ok++;
          else failed++;
          resolve();
        });
        c.on('error', () => {
          failed++;
          resolve();
        });
      }),
    );
  }
  await Promise.all(running);
  return { ok, failed, wallMs: Date.now() - t0, latencies };
}

const hookRecords = (m: string) =>
  ['applied', 'duplicate', 'superseded', 'bad'].reduce(
    (sum, result) => sum + (['socket', 'spool', 'any'].reduce((s, via) => s + (sample(m, 'keepwatch_hook_records_total', { via, result }) ?? 0), 0)),
    0,
  );

async function main(): Promise<void> {
  requireRoot('bursts');
  const lines = opt('lines', 10_000);
  const hooks = opt('hooks', 1_000);
  const spread = opt('spread', 1_000);
  const settle = opt('settle', 30);
  const id = 'b8bu';
  let lab: Lab | undefined;
  try {
    console.log(`bursts: ${lines} FIFO lines and ${hooks} hook calls, each spread over ${spread} ms, into the agent on a one-node lab (${id})`);
    lab = await startLab({ id, nodes: 1, fifo: true });
    const [agent] = await startAgents(lab, { config: () => ({ log: { level: 'warn' } }) });
    await waitUntil(async () => sample(await agent.metrics(), 'keepwatch_source_up', { source: 'fifo' }) === 1, 15_000, 100, 'FIFO source up');
    await waitUntil(async () => sample(await agent.metrics(), 'keepwatch_source_up', { source: 'hook' }) === 1, 15_000, 100, 'hook source up');
    await sleep(5_000);
    const pid = agent.proc.pid!;
    const rss = () => procSample(pid)!.rssBytes / 1048576;
    const base: number[] = [];
    for (let i = 0; i < 5; i++) {
      base.push(rss());
      await sleep(1000);
    }
    const rssBase = base.reduce((a, b) => a + b, 0) / base.length;
    let rssPeak = rssBase;
    const peakTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 100);

    const m0 = await agent.metrics();
    const fifoBefore = sample(m0, 'keepwatch_fifo_lines_total') ?? NaN;
    const parseBefore = sample(m0, 'keepwatch_parse_errors_total', { source: 'fifo' }) ?? 0;
    const hookBefore = hookRecords(m0);

    // Both bursts at once: keepalived writes the FIFO and forks the hooks for the same transitions.
    const [fifo, hook] = await Promise.all([writeFifo(lab.nodes[0].fifoPath, lines, spread), callHooks(agent, hooks, spread)]);
    const written = lines - fifo.dropped;
    let fifoRead = NaN;
    let hookGot = NaN;
    const doneAt = await waitUntil(async () => {
      const m = await agent.metrics();
      fifoRead = (sample(m, 'keepwatch_fifo_lines_total') ?? NaN) - fifoBefore;
      hookGot = hookRecords(m) - hookBefore;
      return fifoRead >= written && hookGot >= hook.ok;
    }, 30_000, 100, 'every line and record counted').catch(() => NaN);
    const m1 = await agent.metrics();
    const parseErrors = (sample(m1, 'keepwatch_parse_errors_total', { source: 'fifo' }) ?? 0) - parseBefore;
    const rssAfterBurst = rss();
    console.log(`FIFO: ${lines} lines written in ${fifo.writeMs} ms, ${fifo.dropped} dropped on EAGAIN (pipe full), ${fmt(fifoRead, 0)} read by the agent, ${parseErrors} parse errors`);
    const lat = [...hook.latencies].sort((a, b) => a - b);
    console.log(`hook: ${hooks} calls in ${hook.wallMs} ms (${hook.ok} exit 0, ${hook.failed} failed; per-call p50 ${fmt(lat[Math.floor(lat.length / 2)])} ms, max ${fmt(lat[lat.length - 1])} ms), ${fmt(hookGot, 0)} records counted by the agent`);
    console.log(Number.isFinite(doneAt) ? 'all counted' : 'NOT all counted within 30 s');

    // Memory: back to the baseline? Sampled for `settle` seconds after the burst.
    const after: number[] = [];
    for (let i = 0; i < settle; i++) {
      await sleep(1000);
      after.push(rss());
    }
    clearInterval(peakTimer);
    const rssEnd = after.length ? after[after.length - 1] : rss();
    console.log(`RSS: baseline ${fmt(rssBase)} MiB, peak ${fmt(rssPeak)} MiB, right after ${fmt(rssAfterBurst)} MiB, ${settle} s later ${fmt(rssEnd)} MiB (${fmt(rssEnd - rssBase)} MiB over the baseline)`);
    const alive = (await fetch(`${agent.url}/healthz`)).ok;
    writeResult('bursts', {
      options: { lines, hooks, spread, settle },
      fifo: { written: lines, dropped: fifo.dropped, writeMs: fifo.writeMs, read: fifoRead, parseErrors, lost: written - fifoRead },
      hook: { calls: hooks, ok: hook.ok, failed: hook.failed, wallMs: hook.wallMs, counted: hookGot, lost: hook.ok - hookGot, p50Ms: lat[Math.floor(lat.length / 2)], maxMs: lat[lat.length - 1] },
      rss: { baselineMiB: rssBase, peakMiB: rssPeak, rightAfterMiB: rssAfterBurst, afterSettleMiB: rssEnd, settleSeconds: settle, samplesAfter: after },
      agentAlive: alive,
    });
  } finally {
    await lab?.stop();
    cleanupIdSync(id);
  }
}

runMain(main);
