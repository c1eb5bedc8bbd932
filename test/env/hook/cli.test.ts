// keepwatch hook install / hook check as root, through the real CLI: the hook installed root:root
// 0755 and checked against keepalived.conf. The rest of the hook CLI: test/unit/hook/cli.test.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HOOK_PATH } from '../../helpers/hook';
import { describeNeeding, needs } from '../../helpers/needs';
import { runCli as cli } from '../../helpers/runCli';

describeNeeding([needs.root('chown root:root, /run')], 'keepwatch hook install, then check against keepalived.conf', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync('/run/kwhookcheck-');
    fs.chmodSync(dir, 0o755);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('installed root:root 0755; conf with notify passes; conf without it fails; world-writable dir fails', async () => {
    const hook = path.join(dir, 'sbin', 'keepwatch-notify');
    const inst = await cli('hook', 'install', '--path', hook);
    expect(inst.code).toBe(0);
    const st = fs.statSync(hook);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o755]);
    expect(fs.readFileSync(hook, 'utf8')).toBe(fs.readFileSync(HOOK_PATH, 'utf8'));

    const conf = path.join(dir, 'keepalived.conf');
    fs.writeFileSync(conf, `global_defs {\n  enable_script_security\n  script_user root\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n  notify ${hook}\n}\n`);
    const ok = await cli('hook', 'check', '--path', hook, '--keepalived-conf', conf);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/vrrp_instance VI_1 .* runs the hook from notify/);
    expect(ok.out).toMatch(/hook check: OK/);

    fs.writeFileSync(conf, `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  notify_master "${hook} --state MASTER INSTANCE VI_1"\n}\n`);
    const partial = await cli('hook', 'check', '--path', hook, '--keepalived-conf', conf);
    expect(partial.code).toBe(0);
    expect(partial.out).toMatch(/WARN .*not run for notify_backup, notify_fault, notify_stop/);
    expect(partial.out).toMatch(/WARN .*enable_script_security is not set/);

    fs.writeFileSync(conf, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n}\n');
    const none = await cli('hook', 'check', '--path', hook, '--keepalived-conf', conf);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no notify line runs/);

    fs.chmodSync(path.dirname(hook), 0o777);
    const ww = await cli('hook', 'check', '--path', hook, '--no-conf');
    expect(ww.code).toBe(1);
    expect(ww.err).toMatch(/sbin is world-writable.*enable_script_security would refuse/);
  });
});
