// The deploy files checked by the tools that will read them, where this machine has them:
// systemd-analyze (the unit), systemd-sysusers/-tmpfiles (into a scratch root), a private
// dbus-daemon (the D-Bus policy really allows and denies what it says), keepalived -t (the
// snippet). What each must contain: test/unit/ecosystem/deploy.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { commandPath, describeNeeding, needs, testNeeding } from '../../helpers/needs';

const ROOT = join(__dirname, '../../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const UNIT = read('deploy/systemd/keepwatch.service');
const TMPFILES = read('deploy/systemd/keepwatch.tmpfiles');
const SYSUSERS = read('deploy/systemd/keepwatch.sysusers');
const POLICY = read('deploy/dbus/keepwatch-keepalived.conf');
const SNIPPET = read('deploy/keepalived/keepalived.conf.snippet');
const ANALYZE = commandPath('systemd-analyze') ?? 'systemd-analyze';
const DBUS_DAEMON = commandPath('dbus-daemon') ?? 'dbus-daemon';
const KEEPALIVED = commandPath('keepalived') ?? 'keepalived';

describe('systemd unit', () => {
  testNeeding([needs.command('systemd-analyze', 'systemd')], 'systemd-analyze verify: no errors, no warnings; security exposure is low', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-unit-'));
    try {
      // verify insists that ExecStart's binary exists: point it at a stub.
      const stub = join(dir, 'keepwatch');
      writeFileSync(stub, '#!/bin/sh\n');
      chmodSync(stub, 0o755);
      const file = join(dir, 'keepwatch.service');
      writeFileSync(file, UNIT.replace('/usr/local/bin/keepwatch', stub));
      const r = spawnSync(ANALYZE, ['verify', file], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
      // It does catch mistakes (unknown keys only warn, so the empty output is what matters).
      writeFileSync(file, UNIT.replace('/usr/local/bin/keepwatch', stub).replace('PrivateTmp=no', 'PrivateTemp=no'));
      expect(spawnSync(ANALYZE, ['verify', file], { encoding: 'utf8' }).stderr).toMatch(/Unknown key 'PrivateTemp'/);

      writeFileSync(file, UNIT.replace('/usr/local/bin/keepwatch', stub));
      const sec = spawnSync(ANALYZE, ['security', '--offline=yes', file], { encoding: 'utf8' });
      const m = /Overall exposure level for keepwatch\.service: ([\d.]+)/.exec(sec.stdout);
      expect(m).not.toBeNull();
      console.log(`systemd-analyze security exposure of keepwatch.service: ${m![1]} (0 = locked down, 10 = exposed)`);
      expect(Number(m![1])).toBeLessThan(3.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sysusers and tmpfiles', () => {
  testNeeding([needs.root('chown into the scratch root'), needs.command('systemd-sysusers', 'systemd'), needs.command('systemd-tmpfiles', 'systemd')], 'systemd-sysusers and systemd-tmpfiles apply them to a scratch root', () => {
    const root = mkdtempSync(join(tmpdir(), 'kw-root-'));
    try {
      const sys = join(root, 'keepwatch.sysusers');
      const tmp = join(root, 'keepwatch.tmpfiles');
      mkdirSync(join(root, 'etc'));
      writeFileSync(sys, SYSUSERS);
      writeFileSync(tmp, TMPFILES);
      const u = spawnSync('systemd-sysusers', [`--root=${root}`, sys], { encoding: 'utf8' });
      expect({ status: u.status, stderr: u.stderr }).toEqual({ status: 0, stderr: expect.stringMatching(/^Creating group 'keepwatch' with GID \d+\.\nCreating user 'keepwatch' \(keepwatch HA monitor\) with UID \d+ and GID \d+\.\n$/) });
      const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
      const m = /^keepwatch:x:(\d+):(\d+):[^:]*:\/var\/lib\/keepwatch:\/usr\/sbin\/nologin$/m.exec(passwd);
      expect(m).not.toBeNull();
      const t = spawnSync('systemd-tmpfiles', [`--root=${root}`, '--create', tmp], { encoding: 'utf8' });
      expect(t.stderr).toBe('');
      expect(t.status).toBe(0);
      const fifo = lstatSync(join(root, 'run/keepwatch/notify.fifo'));
      expect(fifo.isFIFO()).toBe(true);
      expect(fifo.mode & 0o777).toBe(0o600);
      expect(fifo.uid).toBe(Number(m![1]));
      expect(statSync(join(root, 'var/spool/keepwatch')).uid).toBe(Number(m![1]));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('D-Bus policy', () => {
  describeNeeding([needs.command('dbus-daemon', 'apt-get install dbus')], 'on a private dbus-daemon', () => {
    let dir: string;
    let busProc: ChildProcess | undefined;

    afterEach(async () => {
      busProc?.kill('SIGTERM');
      busProc = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    /** A bus with the system bus's default policy, the test user owning keepalived's name, and `policy` included. */
    async function startBus(policy: string): Promise<string> {
      dir = mkdtempSync(join(tmpdir(), 'kw-dbus-'));
      const me = userInfo().username;
      writeFileSync(join(dir, 'policy.conf'), policy.replace('user="keepwatch"', `user="${me}"`));
      writeFileSync(
        join(dir, 'bus.conf'),
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${dir}/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <policy user="${me}"><allow own="org.keepalived.Vrrp1"/></policy>
  <include>${dir}/policy.conf</include>
</busconfig>
`,
      );
      busProc = spawn(DBUS_DAEMON, [`--config-file=${dir}/bus.conf`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
      return new Promise((resolve, reject) => {
        let err = '';
        busProc!.stderr!.on('data', (b) => (err += b));
        busProc!.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim()));
        busProc!.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}: ${err}`)));
      });
    }

    /** A stand-in for keepalived: owns the name and answers every call. */
    async function fakeKeepalived(address: string): Promise<dbus.MessageBus> {
      const bus = dbus.sessionBus({ busAddress: address });
      bus.addMethodHandler((msg: dbus.Message) => {
        if (msg.member === 'Introspect') bus.send(dbus.Message.newMethodReturn(msg, 's', ['<node/>']));
        else if (msg.member === 'Get') bus.send(dbus.Message.newMethodReturn(msg, 'v', [new dbus.Variant('(us)', [2, 'Master'])]));
        else bus.send(dbus.Message.newMethodReturn(msg, '', []));
        return true;
      });
      await bus.requestName('org.keepalived.Vrrp1', dbus.NameFlag.DO_NOT_QUEUE);
      return bus;
    }

    async function tryCall(bus: dbus.MessageBus, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<string> {
      try {
        await bus.call(new dbus.Message({ destination: 'org.keepalived.Vrrp1', path, interface: iface, member, signature, body }));
        return 'ok';
      } catch (e) {
        return (e as dbus.DBusError).type ?? String(e);
      }
    }

    const INST = '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4';
    const VRRP = '/org/keepalived/Vrrp1/Vrrp';
    const calls = (c: dbus.MessageBus) =>
      Promise.all([
        tryCall(c, INST, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.keepalived.Vrrp1.Instance', 'State']),
        tryCall(c, '/org/keepalived/Vrrp1/Instance', 'org.freedesktop.DBus.Introspectable', 'Introspect'),
        tryCall(c, VRRP, 'org.keepalived.Vrrp1.Vrrp', 'PrintData'),
        tryCall(c, VRRP, 'org.keepalived.Vrrp1.Vrrp', 'PrintStats'),
        tryCall(c, VRRP, 'org.keepalived.Vrrp1.Vrrp', 'ReloadConfig'),
        tryCall(c, VRRP, 'org.keepalived.Vrrp1.Vrrp', 'PrintStatsClear'),
        tryCall(c, INST, 'org.freedesktop.DBus.Properties', 'Set', 'ssv', ['org.keepalived.Vrrp1.Instance', 'State', new dbus.Variant('u', 1)]),
        tryCall(c, INST, 'org.keepalived.Vrrp1.Instance', 'SendGarp'),
      ]);
    const DENIED = 'org.freedesktop.DBus.Error.AccessDenied';

    test('allows Get, Introspect, PrintData, PrintStats and keepalived\'s signals; denies the rest', async () => {
      const address = await startBus(POLICY);
      const ka = await fakeKeepalived(address);
      const client = dbus.sessionBus({ busAddress: address });
      try {
        expect(await calls(client)).toEqual(['ok', 'ok', 'ok', 'ok', DENIED, DENIED, DENIED, DENIED]);
        // Signals from keepalived reach the agent.
        const got = new Promise<number>((resolve) => {
          client.on('message', (m: dbus.Message) => {
            if (m.member === 'VrrpStatusChange') resolve(m.body[0] as number);
          });
        });
        await client.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',sender='org.keepalived.Vrrp1'"] }));
        ka.send(dbus.Message.newSignal(INST, 'org.keepalived.Vrrp1.Instance', 'VrrpStatusChange', 'u', [3]));
        expect(await got).toBe(3);
      } finally {
        client.disconnect();
        ka.disconnect();
      }
    });

    test('control: without the policy, the same user may call none of them', async () => {
      const address = await startBus('<busconfig></busconfig>');
      const ka = await fakeKeepalived(address);
      const client = dbus.sessionBus({ busAddress: address });
      try {
        expect(await calls(client)).toEqual(Array(8).fill(DENIED));
      } finally {
        client.disconnect();
        ka.disconnect();
      }
    });
  });
});

describe('keepalived.conf snippet', () => {
  testNeeding([needs.command('keepalived', 'apt-get install keepalived')], 'keepalived -t accepts it (and rejects a broken copy)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ka-'));
    try {
      const file = join(dir, 'keepalived.conf');
      writeFileSync(file, SNIPPET);
      const ok = spawnSync(KEEPALIVED, ['-t', '-f', file, '-l', '-D'], { encoding: 'utf8' });
      expect(ok.stdout + ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      writeFileSync(file, SNIPPET.replace('enable_dbus', 'enable_dbuss'));
      const bad = spawnSync(KEEPALIVED, ['-t', '-f', file, '-l', '-D'], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stdout + bad.stderr).toMatch(/Unknown keyword 'enable_dbuss'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
