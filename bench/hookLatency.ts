// Hook latency: how long keepalived waits for the notify hook (agent/hook/keepwatch-notify),
// p50/p99 over N calls measured by hyperfine, with the agent up (record handed over its Unix
// socket) and down (record spooled to disk). The agent is a real in-process Daemon (hook module
// on, everything touching the host off), so this needs no root and no lab.
// Run: npx tsx bench/hookLatency.ts [--runs=200]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInProcessAgent } from '../test/helpers/inProcessAgent';
import { sample, waitUntil } from '../test/lab/agents';
import { fmt, opt, percentile, REPO, runMain, summary, writeResult } from './lib';

const HOOK = join(REPO, 'agent/hook/keepwatch-notify');

function hyperfine(cmd: string, runs: number, jsonFile: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('hyperfine', ['--runs', String(runs), '--warmup', '5', '-N', '--export-json', jsonFile, cmd], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`hyperfine exited ${code}`));
      const r = JSON.parse(readFileSync(jsonFile, 'utf8')) as { results: Array<{ times: number[] }> };
      resolve(r.results[0].times.map((s) => s * 1000));
    });
  });
}

async function main(): Promise<void> {
  const runs = opt('runs', 200);
  const agent = await startInProcessAgent();
  const spool = join(agent.dir, 'spool');
  const sock = join(agent.dir, 'hook.sock');
  const cmd = `/bin/sh ${HOOK} --spool ${spool} --socket ${sock} INSTANCE VI_1 MASTER 150`;
  const url = agent.url;
  const records = async () => {
    const m = await (await fetch(`${url}/metrics`)).text();
    return ['socket', 'spool', 'any'].reduce((s, via) => s + ['applied', 'duplicate', 'superseded'].reduce((t, r) => t + (sample(m, 'keepwatch_hook_records_total', { via, result: r }) ?? 0), 0), 0);
  };
  try {
    await waitUntil(async () => (await records()) >= 0, 5_000, 100, 'agent up');
    console.log(`hookLatency: ${runs} calls per case, hyperfine -N (no shell in between)`);
    const before = await records();
    const up = await hyperfine(cmd, runs, join(agent.dir, 'up.json'));
    await waitUntil(async () => (await records()) >= before + runs + 5, 10_000, 100, 'every record counted').catch(() => undefined);
    const counted = (await records()) - before;
    await agent.daemon.stop();
    const down = await hyperfine(cmd, runs, join(agent.dir, 'down.json'));
    const s = (t: number[]) => ({ ...summary(t), p99: percentile(t, 99) });
    const su = s(up);
    const sd = s(down);
    console.log(`agent up   (socket): p50 ${fmt(su.p50, 2)} ms, p99 ${fmt(su.p99, 2)} ms, max ${fmt(su.max, 2)} ms; records counted by the agent: ${counted} of ${runs + 5}`);
    console.log(`agent down (spool):  p50 ${fmt(sd.p50, 2)} ms, p99 ${fmt(sd.p99, 2)} ms, max ${fmt(sd.max, 2)} ms`);
    const result = { options: { runs }, agentUp: su, agentDown: sd, countedWhileUp: counted, calls: runs + 5 };
    writeResult('hookLatency', result, result);
  } finally {
    await agent.stop().catch(() => undefined);
  }
}

runMain(main);
