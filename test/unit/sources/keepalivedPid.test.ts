// keepalived's pid file and liveness: the pid read strictly, a live keepalived told from a zombie,
// a reused pid and a missing process, with /proc played by a fixture tree.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepalivedProcessAlive, pidFileLiveness, readPidFile } from '../../../agent/sources/keepalivedPid';

let dir: string;
let proc: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-pid-'));
  proc = join(dir, 'proc');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** /proc/<pid>/stat in the fixture tree for pid (this process: a pid that exists). */
function stat(comm: string, state: string, pid = process.pid): void {
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'stat'), `${pid} (${comm}) ${state} 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 1000 100\n`); // the fields through 22 (starttime): parseProcStat needs them
}

test.each([
  ['1234\n', 1234],
  ['  1234  ', 1234],
  ['', undefined],
  ['12a', undefined],
  ['1', undefined],
  ['0', undefined],
  ['99999999999999999999', undefined],
])('readPidFile(%j) is %p', async (text, pid) => {
  const f = join(dir, 'keepalived.pid');
  writeFileSync(f, text);
  expect(await readPidFile(f)).toBe(pid);
});

test('readPidFile: a missing file is no pid, not an error', async () => {
  expect(await readPidFile(join(dir, 'none.pid'))).toBeUndefined();
});

test('keepalivedProcessAlive: a running keepalived, not a zombie, not another program', async () => {
  stat('keepalived', 'S');
  expect(await keepalivedProcessAlive(process.pid, proc)).toBe(true);
  stat('keepalived', 'Z');
  expect(await keepalivedProcessAlive(process.pid, proc)).toBe(false);
  stat('bash', 'S');
  expect(await keepalivedProcessAlive(process.pid, proc)).toBe(false);
  // A comm with spaces and parentheses: the state is after the last ')'.
  stat('keep (a) live', 'R');
  expect(await keepalivedProcessAlive(process.pid, proc)).toBe(false);
});

test('keepalivedProcessAlive: /proc hidden trusts signal 0; a pid that does not exist is dead', async () => {
  expect(await keepalivedProcessAlive(process.pid, join(dir, 'no-proc'))).toBe(true);
  // Pid numbers above the kernel's pid_max (4194304 at most) never exist.
  expect(await keepalivedProcessAlive(4_194_305, proc)).toBe(false);
});

test('pidFileLiveness: alive with the pid; dead with the pid it named; dead without a pid file', async () => {
  const f = join(dir, 'keepalived.pid');
  const live = pidFileLiveness(f, proc);
  expect(await live()).toEqual({ alive: false, pid: undefined });
  writeFileSync(f, `${process.pid}\n`);
  stat('keepalived', 'S');
  expect(await live()).toEqual({ alive: true, pid: process.pid });
  stat('keepalived', 'Z');
  expect(await live()).toEqual({ alive: false, pid: process.pid });
});
