// How fast the FIFO source drains keepalived-style writes, and whether any are dropped.
// The writer behaves like keepalived: the FIFO opened O_RDWR|O_NONBLOCK, one write() per line,
// a line dropped (not retried) when the pipe is full (EAGAIN). Bounded: N lines, 60 s at most.
// Run: npx tsx bench/fifoDrain.ts [lines=10000] [burstMs=0]
//   burstMs=0 writes as fast as possible; burstMs=1000 spreads the lines over one second.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../agent/context';
import { silentLogger } from '../agent/logger';
import { fifoSource } from '../agent/sources/fifoSource';
import { sourceEnv } from '../agent/sources/source';
import { sleep } from '../test/helpers/wait';

async function main(): Promise<void> {
  const N = Number(process.argv[2] ?? 10_000);
  const burstMs = Number(process.argv[3] ?? 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-fifo-'));
  const fifo = path.join(dir, 'notify.fifo');
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  const src = fifoSource({ path: fifo }, sourceEnv({ apply: (e) => {
    if (e.kind !== 'transition') return;
    received++;
    lastAt = performance.now();
    if (!firstAt) firstAt = lastAt;
  } }, { clock: systemClock, log: silentLogger() }, 'fifo'));
  await src.start();
  const rssBefore = process.memoryUsage().rss;
  const writer = `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const N = ${N}, burstMs = ${burstMs};
    let dropped = 0, i = 0;
    const t0 = Date.now();
    function batch() {
      const due = burstMs ? Math.min(N, Math.ceil(((Date.now() - t0 + 1) / burstMs) * N)) : N;
      for (; i < due; i++) {
        try { fs.writeSync(fd, 'INSTANCE "VI_' + (i % 255) + '" ' + (i % 2 ? 'MASTER' : 'BACKUP') + ' ' + (i % 256) + '\\n'); }
        catch (e) { if (e.code === 'EAGAIN') dropped++; else throw e; }
      }
      if (i < N) setImmediate(batch); else { process.stdout.write(JSON.stringify({ dropped, writeMs: Date.now() - t0 })); setTimeout(() => process.exit(0), 200); }
    }
    batch();`;
  const t0 = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', writer], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    c.stdout.on('data', (d) => { s += d; });
    c.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`writer exited ${code}`))));
  });
  const { dropped, writeMs } = JSON.parse(out) as { dropped: number; writeMs: number };
  const deadline = Date.now() + 60_000;
  while (received + dropped < N && Date.now() < deadline) await sleep(10);
  const drainMs = lastAt - t0;
  const rssAfter = process.memoryUsage().rss;
  await src.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  const result = {
    lines: N,
    burstMs,
    writeMs,
    received,
    droppedByWriter: dropped,
    drainMs: Math.round(drainMs),
    linesPerSecond: Math.round(received / (drainMs / 1000)),
    rssDeltaMiB: Math.round(((rssAfter - rssBefore) / 1048576) * 10) / 10,
    node: process.version,
    cpus: os.cpus().length,
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(result));
  if (received + dropped !== N) process.exitCode = 1;
}

void main();
