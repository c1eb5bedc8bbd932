// The FIFO source against real FIFOs in a temp dir, with real writer processes (a writer in this
// process would block the very event loop that drains the FIFO).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock, type Ctx } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { fifoSource, type FifoSource, type FifoSourceOptions } from '../../../agent/sources/fifoSource';
import { sourceEnv } from '../../../agent/sources/source';
import type { NodeEvent } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';
import { waitFor } from '../../helpers/wait';

/** Real files and pipes: poll often, give the slow machine time. */
const POLL = { timeoutMs: 10_000, stepMs: 10 };

jest.setTimeout(30_000);

const ctx: Ctx = { clock: systemClock, log: silentLogger() };
let dir: string;
const sources: FifoSource[] = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-fifo-'));
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function make(opts: Partial<FifoSourceOptions> = {}) {
  const events: NodeEvent[] = [];
  const src = fifoSource({ path: path.join(dir, 'notify.fifo'), checkIntervalMs: 200, backoff: { initialMs: 50, maxMs: 200 }, ...opts }, sourceEnv({ apply: (e) => events.push(e) }, ctx, 'fifo'));
  sources.push(src);
  return { src, events, fifo: opts.path ?? path.join(dir, 'notify.fifo') };
}

/** This process's open file descriptors and what each links to (/proc/self/fd). */
function openFds(): Array<{ fd: string; target: string }> {
  const out: Array<{ fd: string; target: string }> = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.push({ fd, target: fs.readlinkSync(`/proc/self/fd/${fd}`) });
    } catch {
      // closed since the listing (the readdir's own fd)
    }
  }
  return out;
}

/** How many of this process's file descriptors are open on path. */
const fdsOn = (p: string) => openFds().filter((f) => f.target === p).length;

/** inotify watches this process holds (fs.watch): one "inotify wd:" line each in the inotify fds' fdinfo. */
function inotifyWatches(): number {
  let n = 0;
  for (const { fd } of openFds().filter((f) => f.target === 'anon_inode:inotify')) {
    try {
      n += fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed since the listing
    }
  }
  return n;
}


/**
 * A writer process like keepalived: opens the FIFO read-write and non-blocking (so it never
 * blocks and never sees "no reader"), writes each stdin line as one write(). Prints "ok\n" when
 * the FIFO is open and after each write so tests can sequence.
 */
function keepalivedLikeWriter(fifo: string): ChildProcess & { writeLine(line: string): Promise<void> } {
  const code = `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    process.stdout.write('ok\\n');
    let buf = '';
    process.stdin.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\\n')) >= 0) {
        const line = buf.slice(0, i + 1); buf = buf.slice(i + 1);
        try { fs.writeSync(fd, line); } catch (e) { process.stdout.write('drop ' + e.code + '\\n'); continue; }
        process.stdout.write('ok\\n');
      }
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  let acks = 0;
  child.stdout!.on('data', (d: Buffer) => { acks += d.toString().split('\n').filter((l) => l === 'ok').length; });
  const w = child as ChildProcess & { writeLine(line: string): Promise<void> };
  let expected = 1;
  w.writeLine = async (line: string) => {
    await waitFor(() => acks >= 1, { what: 'writer open', ...POLL });
    expected++;
    child.stdin!.write(`${line}\n`);
    const want = expected;
    await waitFor(() => acks >= want, { what: 'writer ack', ...POLL });
  };
  return w;
}

/** Runs a process that opens the FIFO write-only (blocking), writes `text`, closes. */
function writeOnce(fifo: string, text: string): Promise<void> {
  const code = `require('fs').writeFileSync(${JSON.stringify(fifo)}, ${JSON.stringify(text)})`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
    children.push(c);
    const t = setTimeout(() => { c.kill('SIGKILL'); reject(new Error('writer blocked')); }, 10_000);
    c.on('exit', (codeNum) => { clearTimeout(t); codeNum === 0 ? resolve() : reject(new Error(`writer exited ${codeNum}`)); });
  });
}

const transitions = (evs: NodeEvent[]) => evs.filter((e): e is Extract<NodeEvent, { kind: 'transition' }> => e.kind === 'transition');
const ofKind = <K extends NodeEvent['kind']>(evs: NodeEvent[], k: K) => evs.filter((e): e is Extract<NodeEvent, { kind: K }> => e.kind === k);

describe('FifoSource', () => {
  test('creates the FIFO (0600), reports up, stamps lines with the read time', async () => {
    const { src, events, fifo } = make();
    await src.start();
    const st = fs.statSync(fifo);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(events).toEqual([expect.objectContaining({ kind: 'source', source: 'fifo', up: true })]);
    const before = Date.now();
    await writeOnce(fifo, 'INSTANCE "VI_1" MASTER 150\nGROUP "G1" MASTER 0\nINSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n');
    await waitFor(() => events.length >= 4, { what: '3 events', ...POLL });
    expect(events.slice(1)).toEqual([
      expect.objectContaining({ kind: 'transition', source: 'fifo', iname: 'VI_1', state: 'MASTER', priority: 150 }),
      expect.objectContaining({ kind: 'group', group: 'G1', state: 'MASTER' }),
      expect.objectContaining({ kind: 'evidence', type: 'MASTER_RX_LOWER_PRI', iname: 'VI_1' }),
    ]);
    for (const e of events.slice(1)) {
      expect(e.at).toBeGreaterThanOrEqual(before);
      expect(e.at).toBeLessThanOrEqual(Date.now());
    }
  });

  test('an existing FIFO is used as is (mode untouched)', async () => {
    const fifo = path.join(dir, 'notify.fifo');
    await new Promise<void>((res, rej) => spawn('mkfifo', ['-m', '640', fifo]).on('exit', (c) => (c === 0 ? res() : rej(new Error('mkfifo')))));
    const ino = fs.statSync(fifo).ino;
    const { src, events } = make();
    await src.start();
    expect(fs.statSync(fifo).ino).toBe(ino);
    expect(fs.statSync(fifo).mode & 0o777).toBe(0o640);
    expect(src.stats.created).toBe(0);
    expect(events).toEqual([expect.objectContaining({ kind: 'source', up: true })]);
  });

  test('writers that close and reopen (keepalived restarting) never end the stream', async () => {
    const { src, events, fifo } = make();
    await src.start();
    for (let i = 0; i < 5; i++) await writeOnce(fifo, `INSTANCE "VI_${i}" BACKUP 100\n`);
    const w = keepalivedLikeWriter(fifo);
    await w.writeLine('INSTANCE "VI_9" MASTER 150');
    w.kill('SIGKILL');
    await writeOnce(fifo, 'INSTANCE "VI_10" FAULT 0\n');
    await waitFor(() => transitions(events).length >= 7, { what: '7 transitions', ...POLL });
    expect(transitions(events).map((e) => e.iname)).toEqual(['VI_0', 'VI_1', 'VI_2', 'VI_3', 'VI_4', 'VI_9', 'VI_10']);
    expect(ofKind(events, 'source')).toHaveLength(1);
  });

  test('a line split across writes is carried, not broken', async () => {
    const { src, events, fifo } = make();
    await src.start();
    // Small writes to a non-blocking read-write fd never block this process.
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    try {
      fs.writeSync(fd, 'INSTANCE "VI_2" BAC');
      await new Promise((r) => setTimeout(r, 100));
      expect(src.stats.lines).toBe(0);
      fs.writeSync(fd, 'KUP 100\nGROUP "G');
      await waitFor(() => src.stats.lines === 1, { what: 'first line', ...POLL });
      fs.writeSync(fd, Buffer.from([0xce])); // first byte of "Ω"
      await new Promise((r) => setTimeout(r, 50));
      fs.writeSync(fd, Buffer.concat([Buffer.from([0xa9]), Buffer.from('" MASTER 0\n')]));
      await waitFor(() => src.stats.lines === 2, { what: 'second line', ...POLL });
    } finally {
      fs.closeSync(fd);
    }
    expect(events.slice(1)).toEqual([
      expect.objectContaining({ kind: 'transition', iname: 'VI_2', state: 'BACKUP', priority: 100 }),
      expect.objectContaining({ kind: 'group', group: 'GΩ', state: 'MASTER' }),
    ]);
  });

  test('bad lines are parse errors with reason and input; overlong lines are bounded', async () => {
    const { src, events, fifo } = make({ maxLineBytes: 1024 });
    await src.start();
    await writeOnce(fifo, `HELLO world\n${'x'.repeat(50_000)}\nINSTANCE "VI_1" MASTER 150\n`);
    await waitFor(() => transitions(events).length === 1, { what: 'transition', ...POLL });
    const errs = ofKind(events, 'parse_error');
    expect(errs).toEqual([
      expect.objectContaining({ source: 'fifo', reason: expect.stringMatching(/unknown line type "HELLO"/), input: 'HELLO world' }),
      expect.objectContaining({ source: 'fifo', reason: 'line longer than 1024 bytes, skipped' }),
    ]);
    expect(errs[1].input!.length).toBeLessThanOrEqual(200);
    expect(src.stats.parseErrors).toBe(2);
  });

  test('FIFO deleted: a new one is created; the old one is drained until keepalived moves over', async () => {
    const { src, events, fifo } = make();
    await src.start();
    const oldIno = fs.statSync(fifo).ino;
    const w = keepalivedLikeWriter(fifo); // holds the old FIFO open, like a running keepalived
    await w.writeLine('INSTANCE "VI_1" MASTER 150');
    fs.unlinkSync(fifo);
    await waitFor(() => fs.existsSync(fifo) && fs.statSync(fifo).isFIFO(), { what: 'FIFO recreated', ...POLL });
    expect(fs.statSync(fifo).ino).not.toBe(oldIno);
    await waitFor(() => src.stats.created === 2, { what: 'new FIFO opened', ...POLL });
    await new Promise((r) => setTimeout(r, 100));
    // keepalived still writing to the deleted FIFO: not lost.
    await w.writeLine('INSTANCE "VI_1" BACKUP 100');
    await waitFor(() => transitions(events).length === 2, { what: 'line on the old FIFO', ...POLL });
    // keepalived restarted: writes to the new FIFO at the path.
    w.kill('SIGKILL');
    await writeOnce(fifo, 'INSTANCE "VI_1" MASTER 150\n');
    await waitFor(() => transitions(events).length === 3, { what: 'line on the new FIFO', ...POLL });
    expect(transitions(events).map((e) => e.state)).toEqual(['MASTER', 'BACKUP', 'MASTER']);
    expect(ofKind(events, 'source').map((e) => e.up)).toEqual([true]);
  });

  test('a regular file at the path is moved aside (not deleted) with a clear error, then the FIFO is created', async () => {
    const fifo = path.join(dir, 'notify.fifo');
    fs.writeFileSync(fifo, 'precious\n');
    const { src, events } = make();
    await src.start();
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('notify.fifo.not-a-fifo.'));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, aside[0]), 'utf8')).toBe('precious\n');
    const health = ofKind(events, 'source');
    expect(health[0]).toMatchObject({ up: false, error: expect.stringMatching(/was a regular file, not a FIFO: moved it to .*not-a-fifo/) });
    expect(health[1]).toMatchObject({ up: true });
    // Also while running: someone replaces the FIFO with a file.
    fs.unlinkSync(fifo);
    fs.writeFileSync(fifo, 'oops\n');
    await waitFor(() => fs.existsSync(fifo) && fs.statSync(fifo).isFIFO(), { what: 'FIFO back', ...POLL });
    await writeOnce(fifo, 'INSTANCE "VI_1" FAULT 150\n');
    await waitFor(() => transitions(events).length === 1, { what: 'line', ...POLL });
  });

  test('a directory at the path: source down with the reason, retried, recovers when it goes', async () => {
    const fifo = path.join(dir, 'notify.fifo');
    fs.mkdirSync(fifo);
    const { src, events } = make();
    await src.start();
    expect(events).toEqual([expect.objectContaining({ kind: 'source', up: false, error: expect.stringMatching(/exists and is not a FIFO \(a directory\)/) })]);
    fs.rmdirSync(fifo);
    await waitFor(() => ofKind(events, 'source').some((e) => e.up), { what: 'up', ...POLL });
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });

  test('missing directory: down with the reason (start does not throw), up once it exists', async () => {
    const fifo = path.join(dir, 'run', 'keepwatch', 'notify.fifo');
    const { src, events } = make({ path: fifo });
    await expect(src.start()).resolves.toBeUndefined();
    expect(events[0]).toMatchObject({ kind: 'source', up: false, error: expect.stringMatching(/cannot create FIFO .*notify\.fifo/) });
    fs.mkdirSync(path.dirname(fifo), { recursive: true });
    await waitFor(() => ofKind(events, 'source').some((e) => e.up), { what: 'up', ...POLL });
    await writeOnce(fifo, 'INSTANCE "VI_1" MASTER 150\n');
    await waitFor(() => transitions(events).length === 1, { what: 'line', ...POLL });
  });

  test('mkfifo missing: a clear error', async () => {
    const { src, events } = make({ mkfifoCommand: path.join(dir, 'no-such-mkfifo') });
    await src.start();
    expect(events[0]).toMatchObject({ kind: 'source', up: false, error: expect.stringMatching(/no-such-mkfifo not found/) });
  });

  test('lines written while the agent is stopped are read when it starts again (the FIFO is kept)', async () => {
    const first = make();
    await first.src.start();
    const w = keepalivedLikeWriter(first.fifo);
    await w.writeLine('INSTANCE "VI_1" BACKUP 100');
    await waitFor(() => transitions(first.events).length === 1, { what: 'first line', ...POLL });
    await first.src.stop();
    expect(fs.statSync(first.fifo).isFIFO()).toBe(true);
    await w.writeLine('INSTANCE "VI_1" MASTER 150'); // nobody reading: stays in the pipe
    const second = make();
    await second.src.start();
    await waitFor(() => transitions(second.events).length === 1, { what: 'buffered line', ...POLL });
    expect(transitions(second.events)[0]).toMatchObject({ state: 'MASTER' });
  });

  test('10,000 lines written fast arrive complete and in order (bounded in time)', async () => {
    const { src, events, fifo } = make();
    await src.start();
    const N = 10_000;
    const code = `
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(fifo)}, 'w');
      for (let i = 0; i < ${N}; i++) fs.writeSync(fd, 'INSTANCE "VI_' + i + '" ' + (i % 2 ? 'MASTER' : 'BACKUP') + ' ' + (i % 256) + '\\n');
      fs.closeSync(fd);`;
    const t0 = Date.now();
    const child = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
    children.push(child);
    await waitFor(() => transitions(events).length >= N, { what: `${N} lines`, ...POLL, timeoutMs: 20_000 });
    const ms = Date.now() - t0;
    const got = transitions(events);
    expect(got).toHaveLength(N);
    got.forEach((e, i) => {
      if (e.iname !== `VI_${i}` || e.priority !== i % 256) throw new Error(`line ${i} out of order or wrong: ${JSON.stringify(e)}`);
    });
    expect(src.stats.parseErrors).toBe(0);
    // A figure for the report, not an assertion (no timed assertions for speed).
    console.log(`fifoSource: ${N} lines (writer in another process, one write() per line) in ${ms} ms`);
  });

  test('stop() is idempotent and leaves no handle open', async () => {
    const clock = new FakeClock();
    const fifo = path.join(dir, 'notify.fifo');
    const src = fifoSource({ path: fifo }, sourceEnv({ apply: () => undefined }, { clock, log: silentLogger() }, 'fifo'));
    sources.push(src);
    const watches = inotifyWatches();
    await src.start();
    // What start() holds, so that the checks after stop() can see a leak: the FIFO open, the
    // directory watch, the periodic check.
    expect(fdsOn(fifo)).toBe(1);
    expect(inotifyWatches()).toBe(watches + 1);
    expect(clock.pending()).toBe(1);
    await src.stop();
    await src.stop();
    expect(fdsOn(fifo)).toBe(0);
    expect(inotifyWatches()).toBe(watches);
    expect(clock.pending()).toBe(0);
  });
});
