import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processSource } from '../../../agent/sources/processSource';
import { silentLogger } from '../../../agent/logger';
import type { NodeEvent } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';

test('reports keepalived up/down from the pid file, once per change, and spots a stale pid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kwproc-'));
  const pidFile = join(dir, 'keepalived.pid');
  const proc = join(dir, 'proc');
  mkdirSync(join(proc, '4242'), { recursive: true });
  writeFileSync(join(proc, '4242', 'comm'), 'keepalived\n');
  const running = new Set([4242]);
  const events: NodeEvent[] = [];
  const src = processSource({ pidFile, procRoot: proc, alive: (p) => running.has(p) }, { clock: new FakeClock(), log: silentLogger() }, (e) => events.push(e));

  await src.check();
  expect(events.pop()).toMatchObject({ kind: 'keepalived', up: false, reason: expect.stringContaining('ENOENT') });
  writeFileSync(pidFile, '4242\n');
  await src.check();
  await src.check();
  expect(events).toEqual([expect.objectContaining({ kind: 'keepalived', up: true, pid: 4242, source: 'process' })]);
  running.delete(4242);
  await src.check();
  expect(events.pop()).toMatchObject({ up: false, reason: 'pid 4242 from ' + pidFile + ' is not running' });
  running.add(4242);
  writeFileSync(join(proc, '4242', 'comm'), 'bash\n');
  await src.check();
  expect(events.pop()).toMatchObject({ up: false, reason: expect.stringContaining('not keepalived') });
  writeFileSync(pidFile, 'garbage');
  await src.check();
  expect(events.pop()).toMatchObject({ up: false, reason: expect.stringContaining('holds no pid') });
  rmSync(dir, { recursive: true, force: true });
});
