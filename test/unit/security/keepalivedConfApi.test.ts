// Issue 15, High 3: /api/v1/keepalived/config showed track and notify script command lines
// (seen: `curl -u admin:<password> ...`). Script paths are served, their arguments never.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import { keepalivedConfModule, scriptPathOnly } from '../../../agent/wiring/keepalivedConf';
import { waitFor } from '../../helpers/wait';

test('script arguments never reach the API; paths do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kwsec-kconf-'));
  writeFileSync(
    join(dir, 'keepalived.conf'),
    `vrrp_script chk_nginx {
  script "/usr/bin/curl -fsu admin:hunter2-track http://127.0.0.1/health"
  interval 2
}
vrrp_sync_group G1 {
  group { VI_1 }
  notify_master "/etc/keepalived/sg.sh --token hunter2-group"
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 192.0.2.100/24 }
  track_script { chk_nginx }
  notify_master "/etc/keepalived/master.sh hunter2-notify"
  notify /usr/local/bin/notify-all
}
`,
  );
  const file = join(dir, 'keepwatch.yml');
  writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0"}\nkeepalived: {config: ${dir}/keepalived.conf, dbus_enabled: false}\n`);
  const daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule, keepalivedConfModule] });
  await daemon.start();
  try {
    const url = `http://127.0.0.1:${daemon.http.address()!.port}/api/v1/keepalived/config`;
    const body = await waitFor(async () => {
      const r = await fetch(url);
      return r.status === 200 && (await r.text());
    }, { what: 'keepalived.conf parsed' });
    expect(body).not.toMatch(/hunter2/);
    const c = JSON.parse(body);
    expect(c.scripts[0].script).toBe('/usr/bin/curl <redacted>');
    expect(c.instances[0].notify).toMatchObject({ master: '/etc/keepalived/master.sh <redacted>', notify: '/usr/local/bin/notify-all' });
    expect(c.syncGroups[0].notify.master).toBe('/etc/keepalived/sg.sh <redacted>');
  } finally {
    await daemon.stop();
  }
});

test('scriptPathOnly', () => {
  expect(scriptPathOnly('/bin/x')).toBe('/bin/x');
  expect(scriptPathOnly('"/bin/x a b"')).toBe('/bin/x <redacted>');
  expect(scriptPathOnly("'/bin/x' a")).toBe('/bin/x <redacted>');
  expect(scriptPathOnly(undefined)).toBeUndefined();
});
