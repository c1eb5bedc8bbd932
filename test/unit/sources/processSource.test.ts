import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processSource } from '../../../agent/sources/processSource';
import { sourceEnv } from '../../../agent/sources/source';
import { silentLogger } from '../../../agent/logger';
import type { NodeEvent } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';

test('reports keepalived up/down from the pid file, once per change, and spots zombies and stale pids', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kwproc-'));
  const pidFile = join(dir, 'keepalived.pid');
  const proc = join(dir, 'proc');
  const pid = process.pid; // a pid that really exists; /proc/<pid>/stat comes from the fixture tree
  mkdirSync(join(proc, String(pid)), { recursive: true });
  const stat = (comm: string, state: string) => writeFileSync(join(proc, String(pid), 'stat'), `${pid} (${comm}) ${state} 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 1000 100\n`); // the fields through 22 (starttime): parseProcStat needs them
  stat('keepalived', 'S');
  const events: NodeEvent[] = [];
  const src = processSource({ pidFile, procRoot: proc }, sourceEnv({ apply: (e) => events.push(e) }, { clock: new FakeClock(), log: silentLogger() }, 'process'));

  await src.check();
  expect(events.pop()).toMatchObject({ kind: 'keepalived', up: false, reason: expect.stringContaining('missing or holds no pid') });
  writeFileSync(pidFile, `${pid}\n`);
  await src.check();
  await src.check();
  expect(events).toEqual([expect.objectContaining({ kind: 'keepalived', up: true, pid, source: 'process' })]);
  stat('keepalived', 'Z');
  await src.check();
  expect(events.pop()).toMatchObject({ up: false, reason: expect.stringContaining('not a running keepalived') });
  stat('keepalived', 'S');
  await src.check();
  expect(events.pop()).toMatchObject({ up: true });
  stat('bash', 'S');
  await src.check();
  expect(events.pop()).toMatchObject({ up: false });
  writeFileSync(pidFile, 'garbage');
  await src.check();
  expect(events.pop()).toMatchObject({ up: false, reason: expect.stringContaining('holds no pid') });
  rmSync(dir, { recursive: true, force: true });
});
