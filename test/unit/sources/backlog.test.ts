// What each source kept while the agent was down, read at start as history: the FIFO's unread
// lines (a real FIFO in a temp dir, held open by a writer process as keepalived holds it), the log
// since the saved read position (same file, rotated, truncated; the journal after its cursor).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Ctx } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { fifoSource, type FifoSource } from '../../../agent/sources/fifoSource';
import { backlogArgv } from '../../../agent/sources/journalFollower';
import { logSource, type LogSource, type LogSourceOptions } from '../../../agent/sources/logSource';
import { ReadPositionFile } from '../../../agent/sources/readPosition';
import { sourceEnv } from '../../../agent/sources/source';
import type { NodeEvent, TransitionEvent } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';
import { waitFor } from '../../helpers/wait';

jest.setTimeout(30_000);

let dir: string;
const stops: Array<() => Promise<void>> = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-backlog-'));
});

afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const until = (what: string, cond: () => boolean, timeoutMs = 10_000) => waitFor(cond, { what, timeoutMs, stepMs: 10 });

const transitions = (evs: NodeEvent[]) => evs.filter((e): e is TransitionEvent => e.kind === 'transition');

describe('FIFO backlog', () => {
  /** Like keepalived: opens the FIFO read-write, writes each argument as one line, keeps it open. */
  function writer(fifo: string, lines: string[]): Promise<ChildProcess> {
    const code = `
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      for (const l of ${JSON.stringify(lines)}) fs.writeSync(fd, l + '\\n');
      process.stdout.write('written\\n');
      process.stdin.on('data', (d) => fs.writeSync(fd, d));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    return new Promise((resolve) => child.stdout!.once('data', () => resolve(child)));
  }

  test('lines written while nobody read are history, bounded by the FIFO\'s last write; later lines are live', async () => {
    const fifo = path.join(dir, 'notify.fifo');
    expect(spawnSyncOk('mkfifo', [fifo])).toBe(true);
    const before = Date.now();
    const w = await writer(fifo, ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100']);
    const mtime = fs.statSync(fifo).mtimeMs;
    const clock = new FakeClock(Date.now() + 60_000);
    const events: NodeEvent[] = [];
    let done = 0;
    const src: FifoSource = fifoSource({ path: fifo, onBacklogDone: () => done++ }, sourceEnv({ apply: (e) => events.push(e) }, { clock, log: silentLogger() } as Ctx, 'fifo'));
    stops.push(() => src.stop());
    await src.start();
    expect(done).toBe(1);
    const past = transitions(events);
    expect(past.map((e) => e.state)).toEqual(['BACKUP', 'MASTER']);
    for (const e of past) {
      expect(e.history).toEqual({ bounded: true });
      // At most the FIFO's last write (the kernel's coarse clock: a tick of margin), not the read time.
      expect(e.at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
      expect(e.at).toBeLessThanOrEqual(Math.floor(mtime) + 10);
    }
    expect(src.stats.backlogLines).toBe(2);
    w.stdin!.write('INSTANCE "VI_1" BACKUP 100\n');
    await until('the live line', () => transitions(events).length === 3);
    const live = transitions(events)[2];
    expect(live.history).toBeUndefined();
    expect(live.at).toBe(clock.now());
  });

  test('an empty FIFO (or one the agent creates): no backlog, done at once', async () => {
    const fifo = path.join(dir, 'notify.fifo');
    const clock = new FakeClock(Date.now());
    let done = 0;
    const src = fifoSource({ path: fifo, onBacklogDone: () => done++ }, sourceEnv({ apply: () => undefined }, { clock, log: silentLogger() } as Ctx, 'fifo'));
    stops.push(() => src.stop());
    await src.start();
    expect(done).toBe(1);
    expect(src.stats).toMatchObject({ created: 1, backlogLines: 0 });
  });
});

describe('log backlog from the saved read position', () => {
  const file = () => path.join(dir, 'keepalived.log');
  const posFile = () => path.join(dir, 'state', 'log-position.json');
  // keepalived -l -D -n (console framing, whole seconds, local time)
  const at = (ms: number) => {
    const d = new Date(ms);
    const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const mons = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const p = (n: number) => String(n).padStart(2, '0');
    return `${days[d.getDay()]} ${mons[d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
  };
  const T = Date.UTC(2026, 10, 25, 12, 0, 0);
  const entering = (ms: number, state: string) => `${at(ms)}: (VI_1) Entering ${state} STATE\n`;

  function run(clock: FakeClock, opts: Partial<LogSourceOptions> = {}) {
    const events: NodeEvent[] = [];
    let done = 0;
    const src: LogSource = logSource(
      { path: file(), positionFile: posFile(), onBacklogDone: () => done++, checkIntervalMs: 200, ...opts },
      sourceEnv({ apply: (e) => events.push(e) }, { clock, log: silentLogger() } as Ctx, 'log'),
    );
    stops.push(() => src.stop());
    return { src, events, done: () => done };
  }

  /** The agent's previous run: read the file to its end and saved where it stopped. */
  async function previousRun(content: string): Promise<void> {
    fs.writeFileSync(file(), content);
    const clock = new FakeClock(T + 5_000);
    const { src } = run(clock, { fromStart: true });
    await src.start();
    await src.stop();
    stops.splice(0);
  }

  test('no saved position: from the end like tail -F, nothing is backlog', async () => {
    fs.writeFileSync(file(), entering(T, 'MASTER'));
    const r = run(new FakeClock(T + 60_000));
    await r.src.start();
    expect(r.done()).toBe(1);
    expect(transitions(r.events)).toEqual([]);
  });

  test('the same file, appended while the agent was down: those lines are history at their own time', async () => {
    await previousRun(entering(T, 'BACKUP'));
    const saved = new ReadPositionFile(posFile()).load();
    expect(saved).toMatchObject({ kind: 'file', path: file(), offset: fs.statSync(file()).size, ino: fs.statSync(file()).ino });
    fs.appendFileSync(file(), entering(T + 30_000, 'MASTER') + `${at(T + 30_000)}: (VI_1) Received advert from 192.0.2.11 with lower priority 100, ours 150, forcing new election\n`);
    const r = run(new FakeClock(T + 60_000));
    await r.src.start();
    await until('backlog done', () => r.done() === 1);
    expect(transitions(r.events)).toEqual([expect.objectContaining({ state: 'MASTER', at: T + 30_000, history: {} })]);
    expect(r.events.find((e) => e.kind === 'evidence')).toMatchObject({ at: T + 30_000, history: {} });
    // After the backlog, lines are live again.
    fs.appendFileSync(file(), entering(T + 59_000, 'BACKUP'));
    await r.src.stop(); // (fs.watch may not fire under load: the stop drains nothing more; a poke reads)
  });

  test('rotated while the agent was down: the rotated file from the position, then all of the new one', async () => {
    await previousRun(entering(T, 'BACKUP'));
    fs.appendFileSync(file(), entering(T + 20_000, 'MASTER'));
    fs.renameSync(file(), `${file()}.1`);
    fs.writeFileSync(file(), entering(T + 40_000, 'FAULT'));
    const r = run(new FakeClock(T + 60_000));
    await r.src.start();
    await until('backlog done', () => r.done() === 1);
    expect(transitions(r.events).map((e) => [e.state, e.at - T, e.history])).toEqual([
      ['MASTER', 20_000, {}],
      ['FAULT', 40_000, {}],
    ]);
  });

  test('truncated (copytruncate) while the agent was down: the file from its start', async () => {
    await previousRun(entering(T, 'BACKUP') + entering(T + 1000, 'MASTER'));
    fs.truncateSync(file(), 0);
    fs.appendFileSync(file(), entering(T + 30_000, 'BACKUP'));
    const r = run(new FakeClock(T + 60_000));
    await r.src.start();
    await until('backlog done', () => r.done() === 1);
    expect(transitions(r.events).map((e) => [e.state, e.at - T])).toEqual([['BACKUP', 30_000]]);
  });

  test('a line without a time of its own is bounded by its read time', async () => {
    await previousRun('(VI_1) Entering BACKUP STATE\n');
    fs.appendFileSync(file(), '(VI_1) Entering MASTER STATE\n');
    const clock = new FakeClock(T + 60_000);
    const r = run(clock);
    await r.src.start();
    await until('backlog done', () => r.done() === 1);
    expect(transitions(r.events)).toEqual([expect.objectContaining({ state: 'MASTER', at: clock.now(), history: { bounded: true } })]);
  });

  test('the position is saved after a line that says something, and on stop', async () => {
    fs.writeFileSync(file(), '');
    const clock = new FakeClock(T);
    const r = run(clock);
    await r.src.start();
    fs.appendFileSync(file(), entering(T, 'MASTER'));
    await until('the line', () => transitions(r.events).length === 1);
    expect(new ReadPositionFile(posFile()).load()).toMatchObject({ offset: fs.statSync(file()).size });
    // A line that says nothing: saved at most every 5 s, or on stop.
    fs.appendFileSync(file(), `${at(T)}: (VI_1) setting VIPs.\n`);
    await until('read', () => r.src.position()?.kind === 'file' && (r.src.position() as { offset: number }).offset === fs.statSync(file()).size);
    expect((new ReadPositionFile(posFile()).load() as { offset: number }).offset).toBeLessThan(fs.statSync(file()).size);
    await r.src.stop();
    expect((new ReadPositionFile(posFile()).load() as { offset: number }).offset).toBe(fs.statSync(file()).size);
  });

  test('a damaged position file: read from the end, with a warning, never a crash', async () => {
    fs.mkdirSync(path.dirname(posFile()), { recursive: true });
    fs.writeFileSync(posFile(), '{"kind":"file","path":');
    fs.writeFileSync(file(), entering(T, 'MASTER'));
    expect(() => new ReadPositionFile(posFile()).load()).toThrow(/log-position.json is not JSON/);
    const r = run(new FakeClock(T + 60_000));
    await r.src.start();
    expect(r.done()).toBe(1);
    expect(transitions(r.events)).toEqual([]);
  });
});

describe('journal backlog after the saved cursor', () => {
  /** A stand-in journalctl: without -f prints the backlog and exits; with -f prints the live lines and waits. */
  function fakeJournalctl(backlog: object[], live: object[]): string[] {
    const script = path.join(dir, 'fake-journalctl.js');
    fs.writeFileSync(script, `
      const fs = require('fs');
      const args = process.argv.slice(2);
      fs.appendFileSync(${JSON.stringify(path.join(dir, 'argv.log'))}, JSON.stringify(args) + '\\n');
      const follow = args.includes('-f');
      const lines = follow ? ${JSON.stringify(live)} : ${JSON.stringify(backlog)};
      process.stdout.write(lines.map((l) => JSON.stringify(l)).join('\\n') + (lines.length ? '\\n' : ''));
      if (follow) setInterval(() => {}, 1000);`);
    return [process.execPath, script, '-f', '-o', 'json', '-n', '0', 'SYSLOG_IDENTIFIER=Keepalived_vrrp'];
  }
  const entry = (cursor: string, usec: string, msg: string) => ({ __CURSOR: cursor, __REALTIME_TIMESTAMP: usec, SYSLOG_IDENTIFIER: 'Keepalived_vrrp', MESSAGE: msg });

  test('the backlog run (no --follow, after the cursor) is history; then following resumes after its last entry', async () => {
    const posFile = path.join(dir, 'state', 'log-position.json');
    new ReadPositionFile(posFile).save({ kind: 'journal', cursor: 's=1;i=10' });
    const cmd = fakeJournalctl([entry('s=1;i=11', '1764072030000000', '(VI_1) Entering MASTER STATE')], [entry('s=1;i=12', '1764072090000000', '(VI_1) Entering BACKUP STATE')]);
    const events: NodeEvent[] = [];
    let done = 0;
    const clock = new FakeClock(1764072060000);
    const src = logSource({ path: 'journal', journalctlCommand: cmd, positionFile: posFile, onBacklogDone: () => done++ }, sourceEnv({ apply: (e) => events.push(e) }, { clock, log: silentLogger() } as Ctx, 'log'));
    stops.push(() => src.stop());
    await src.start();
    expect(done).toBe(1);
    await until('the live entry', () => transitions(events).length === 2);
    expect(transitions(events).map((e) => [e.state, e.at, e.history])).toEqual([
      ['MASTER', 1764072030000, {}],
      ['BACKUP', 1764072090000, undefined],
    ]);
    const runs = fs.readFileSync(path.join(dir, 'argv.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(runs[0]).toEqual(['-o', 'json', 'SYSLOG_IDENTIFIER=Keepalived_vrrp', '-q', '--after-cursor=s=1;i=10']);
    expect(runs[1]).toEqual(['-f', '-o', 'json', '-n', '0', 'SYSLOG_IDENTIFIER=Keepalived_vrrp', '--after-cursor=s=1;i=11']);
    expect(new ReadPositionFile(posFile).load()).toEqual({ kind: 'journal', cursor: 's=1;i=12' });
  });

  test('backlogArgv drops following and the line count', () => {
    expect(backlogArgv(['journalctl', '-f', '-o', 'json', '-n', '0', '--lines=5', '-n3', '--follow', 'X=1'], 'c')).toEqual(['journalctl', '-o', 'json', 'X=1', '-q', '--after-cursor=c']);
  });
});

function spawnSyncOk(cmd: string, args: string[]): boolean {
  return require('node:child_process').spawnSync(cmd, args).status === 0;
}
