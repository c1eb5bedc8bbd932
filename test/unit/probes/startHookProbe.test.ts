// The cold-standby start hook check on real files: missing, a directory, no execute bit, fine;
// and whether keepalived.conf names it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StartHookProbe, startHookReferenced } from '../../../agent/probes/startHookProbe';
import { parseKeepalivedConfText } from '../../../agent/keepalived/confParser';
import { FakeClock } from '../../helpers/fakeClock';

describe('StartHookProbe', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-hook-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('missing, a directory, not executable, executable', async () => {
    const clock = new FakeClock(5000);
    const hook = path.join(dir, 'start-nginx.sh');
    const probe = new StartHookProbe({ path: hook, clock });
    expect(probe.check()).toEqual({ kind: 'nginx_start_hook', source: 'nginx_probe', at: 5000, path: hook, ok: false, reason: `${hook} does not exist`, referenced: undefined });
    fs.mkdirSync(hook);
    expect(probe.check()).toMatchObject({ ok: false, reason: `${hook} is not a regular file` });
    fs.rmdirSync(hook);
    fs.writeFileSync(hook, '#!/bin/sh\nexec nginx\n', { mode: 0o644 });
    fs.chmodSync(hook, 0o644);
    expect(probe.check()).toMatchObject({ ok: false, reason: `${hook} is not executable (mode 0644)` });
    fs.chmodSync(hook, 0o700);
    expect(probe.check()).toMatchObject({ ok: true });
    expect(probe.check().reason).toBeUndefined();
    const [ev] = await probe.run(new AbortController().signal);
    expect(ev).toMatchObject({ kind: 'nginx_start_hook', ok: true });
    expect(probe.judge([ev])).toBeUndefined();
    const checked = probe.check();
    fs.chmodSync(hook, 0o644);
    expect(probe.judge(await probe.run(new AbortController().signal))).toBe(`${hook} is not executable (mode 0644)`);
    expect(probe.judge([{ ...checked, ok: false, reason: undefined }])).toBe('nginx start hook missing');
  });

  test('referenced by notify_master or notify of an instance or a sync group; not by notify_backup', () => {
    const hook = '/usr/local/sbin/start-nginx';
    const conf = (line: string, where: 'instance' | 'group' = 'instance') =>
      parseKeepalivedConfText(
        where === 'instance'
          ? `vrrp_instance A {\n interface eth0\n virtual_router_id 1\n ${line}\n}\n`
          : `vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\nvrrp_sync_group G {\n group {\n A\n }\n ${line}\n}\n`,
      );
    expect(startHookReferenced(conf(`notify_master ${hook}`), hook)).toBe(true);
    expect(startHookReferenced(conf(`notify_master "${hook} --wait 5"`), hook)).toBe(true);
    expect(startHookReferenced(conf(`notify ${hook}`, 'group'), hook)).toBe(true);
    expect(startHookReferenced(conf(`notify_backup ${hook}`), hook)).toBe(false);
    expect(startHookReferenced(conf(`notify_master ${hook}.old`), hook)).toBe(false);
    const clock = new FakeClock();
    const c = conf(`notify_master ${hook}`);
    c.files = ['/etc/keepalived/keepalived.conf'];
    expect(new StartHookProbe({ path: hook, clock, conf: () => c }).check()).toMatchObject({ ok: false, referenced: true });
  });
});
