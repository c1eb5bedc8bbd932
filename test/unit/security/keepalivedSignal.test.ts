// Issue 15, medium 9: the dumps source signals the pid keepalived's pid file names only when that
// pid is keepalived and started before the pid file was written. Decoys are real processes: a
// `sleep` (wrong name) and a copy of sleep named keepalived started after the pid file (a reused pid).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { dumpsSource } from '../../../agent/sources/dumpsSource';
import { sourceEnv } from '../../../agent/sources/source';
import { readProcStat } from '../../../agent/procStat';
import { waitFor } from '../../helpers/wait';

let root: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'kw-sig-'));
  mkdirSync(path.join(root, 'tmp'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

async function decoy(name: string): Promise<number> {
  const exe = path.join(root, name);
  copyFileSync('/bin/sleep', exe);
  const c = spawn(exe, ['30'], { stdio: 'ignore' });
  children.push(c);
  const pid = c.pid!;
  await waitFor(() => readProcStat(pid)?.comm === name, { what: `${name} running` });
  return pid;
}

async function signalsTo(pid: number, pidFileAgeS = 0) {
  const pidFile = path.join(root, 'keepalived.pid');
  writeFileSync(pidFile, `${pid}\n`);
  if (pidFileAgeS) {
    const t = Date.now() / 1000 - pidFileAgeS;
    utimesSync(pidFile, t, t);
  }
  const sent: Array<[number, string | number]> = [];
  const src = dumpsSource({
    method: 'signal',
    pidFile,
    dir: path.join(root, 'tmp'),
    kinds: ['stats'],
    pollMs: 5,
    timeoutMs: 20,
    sendSignal: (p, s) => sent.push([p, s]),
  }, sourceEnv({ apply: () => undefined }, { clock: systemClock, log: silentLogger() }, 'dumps'));
  const [out] = await src.refresh();
  await src.stop();
  return { sent, error: out.error ?? '' };
}

test('a pid file naming a process that is not keepalived (an nginx master, here sleep): no USR2, a clear error', async () => {
  const pid = await decoy('sleep');
  const { sent, error } = await signalsTo(pid);
  expect(sent).toEqual([]);
  expect(error).toContain(`pid ${pid}`);
  expect(error).toContain('"sleep", not keepalived');
});

test('a process named keepalived that started after the pid file was written (a reused pid): refused', async () => {
  const pid = await decoy('keepalived');
  const { sent, error } = await signalsTo(pid, 3600);
  expect(sent).toEqual([]);
  expect(error).toMatch(/after the pid file was written.*reused pid, refusing to signal it/);
});

test('keepalived that wrote its pid file after it started: signalled', async () => {
  const pid = await decoy('keepalived');
  const { sent } = await signalsTo(pid);
  expect(sent).toEqual([[pid, 'SIGUSR2']]);
});
