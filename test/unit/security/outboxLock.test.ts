// Issue 15, medium 8: locks judged by pid, start time and boot id, not by pid alone. A lock naming
// a reused pid (pid 1, any live process that is not its writer) is stale; taking a stale lock over
// has exactly one winner. The outbox's durability depends on it: a lock it cannot take turns the
// journal off.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LockFile, LockHeldError, OutboxLock } from '../../../agent/alerting/outbox/lockFile';
import { Outbox } from '../../../agent/alerting/outbox';
import { readBootId, readBootTimeMs, readProcStat } from '../../../agent/procStat';
import { FakeClock } from '../../helpers/fakeClock';
import { silentLogger } from '../../../agent/logger';
import { waitFor } from '../../helpers/wait';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kw-lock-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function liveProcess(): Promise<{ pid: number; identity: string }> {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(c);
  const pid = c.pid!;
  const st = await waitFor(() => readProcStat(pid), { what: 'sleep running' });
  return { pid, identity: `${pid} ${st.startTicks} ${readBootId()} 0123456789abcdef\n` };
}

test('a lock naming pid 1 with another start time (a lock from before a reboot) does not turn the outbox journal off', async () => {
  const init = readProcStat(1)!;
  writeFileSync(path.join(dir, 'lock'), `1 ${init.startTicks + 12345} ${readBootId()} 0123456789abcdef\n`);
  const box = new Outbox({ dir, retry: { initialMs: 100, maxMs: 1000, maxAgeMs: 60_000 }, clock: new FakeClock(), log: silentLogger() } as never);
  await box.open();
  expect(box.memoryOnly).toBe(false);
  expect(readFileSync(path.join(dir, 'lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  await box.close();
});

test('a pid-only lock (older keepwatch) written before pid 1 started (the previous boot) is stale', () => {
  const file = path.join(dir, 'lock');
  writeFileSync(file, '1\n');
  const before = (readBootTimeMs()! - 3600_000) / 1000;
  utimesSync(file, before, before);
  const lock = new LockFile(file, 'test');
  lock.acquire();
  expect(lock.isHeld).toBe(true);
  lock.release();
});

test('a lock held by a live process (full identity, or pid only written after it started) is respected', async () => {
  const { pid, identity } = await liveProcess();
  const file = path.join(dir, 'lock');
  writeFileSync(file, identity);
  expect(() => new LockFile(file, 'outbox x').acquire()).toThrow(new LockHeldError(pid, `outbox x is in use by process ${pid}`));
  writeFileSync(file, `${pid}\n`);
  expect(() => new LockFile(file, 'outbox x').acquire()).toThrow(LockHeldError);
});

test('two processes taking over one stale lock together: the one that judged it stale first loses to the one that took it', async () => {
  const file = path.join(dir, 'lock');
  writeFileSync(file, '999999999 1 - 0123456789abcdef\n');
  const other = await liveProcess();
  // Between this process judging the lock stale and replacing it, the other process takes it over.
  const racer = new OutboxLock(dir, {
    onStale: () => {
      writeFileSync(`${file}.other`, other.identity);
      renameSync(`${file}.other`, file);
    },
  });
  expect(() => racer.acquire()).toThrow(`outbox ${dir} is in use by process ${other.pid}`);
  expect(readFileSync(file, 'utf8')).toBe(other.identity);
});

test('a symlinked lock is refused, never followed', () => {
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'root data\n');
  require('node:fs').symlinkSync(victim, path.join(dir, 'lock'));
  expect(() => new OutboxLock(dir).acquire()).toThrow(/symbolic link/);
  expect(readFileSync(victim, 'utf8')).toBe('root data\n');
});
