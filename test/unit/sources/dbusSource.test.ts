// DbusSource against a real dbus-daemon (private, no root) with keepalived's side played by
// FakeKeepalivedBus; the same source against the real keepalived is test/e2e/dbusSource.test.ts.
// Plus the pure helpers: instance paths, interface name mangling, introspection children.
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { dbusSource, introspectChildren, mangleInterfaceName, parseInstancePath, resolveInterfaceName, type DbusSource, type DbusSourceOptions } from '../../../agent/sources/dbusSource';
import { sourceEnv } from '../../../agent/sources/source';
import { NodeStore } from '../../../agent/state/store';
import type { NodeEvent } from '../../../agent/state/types';
import { FakeKeepalivedBus } from '../../helpers/fakeKeepalivedBus';
import { PrivateDbus } from '../../helpers/privateDbus';
import { describeNeeding, needs } from '../../helpers/needs';
import { sleep, waitFor as waitUntilValue } from '../../helpers/wait';

describe('helpers', () => {
  test('parseInstancePath', () => {
    expect(parseInstancePath('/org/keepalived/Vrrp1/Instance/eth0/51/IPv4')).toEqual({ intf: 'eth0', vrid: 51, family: 'IPv4' });
    expect(parseInstancePath('/org/keepalived/Vrrp1/Instance/eth0_100/7/IPv6')).toEqual({ intf: 'eth0_100', vrid: 7, family: 'IPv6' });
    for (const bad of ['/org/keepalived/Vrrp1/Instance/eth0/51', '/org/keepalived/Vrrp1/Instance/eth0/0/IPv4', '/org/keepalived/Vrrp1/Instance/eth0/256/IPv4', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv5', '/x']) {
      expect(parseInstancePath(bad)).toBeUndefined();
    }
  });

  test('the real interface name behind a mangled path, only when unambiguous', () => {
    expect(mangleInterfaceName('eth0.100')).toBe('eth0_100');
    expect(resolveInterfaceName('eth0_100', ['lo', 'eth0', 'eth0.100'])).toBe('eth0.100');
    expect(resolveInterfaceName('br_lan', ['br_lan', 'br-lan'])).toBe('br_lan'); // two candidates: keep the path form
    expect(resolveInterfaceName('eth1_5', ['eth0'])).toBe('eth1_5');
  });

  test('introspectChildren', () => {
    expect(introspectChildren('<node>\n  <interface name="x"/>\n  <node name="eth0"/>\n  <node name="eth1_5"/>\n</node>')).toEqual(['eth0', 'eth1_5']);
    expect(introspectChildren('')).toEqual([]);
  });
});

const describeBus = (name: string, fn: () => void) => describeNeeding([needs.that(PrivateDbus.available(), 'dbus-daemon', 'dbus-daemon not installed (apt-get install dbus)')], name, fn);

const P1 = '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4';
const P2 = '/org/keepalived/Vrrp1/Instance/eth0_100/52/IPv6';

const waitFor = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 5000) => waitUntilValue(fn, { what, timeoutMs, stepMs: 10 });

describeBus('DbusSource on a private dbus-daemon', () => {
  let daemon: PrivateDbus;
  let ka: FakeKeepalivedBus;
  let src: DbusSource | undefined;
  let events: NodeEvent[];
  let store: NodeStore;

  beforeEach(async () => {
    daemon = new PrivateDbus();
    await daemon.start();
    ka = new FakeKeepalivedBus(daemon.address);
    ka.add(P1, { name: 'VI_1', state: 2 });
    ka.add(P2, { name: 'VI_6', state: 1, nameSignature: '(s)' });
    events = [];
    store = new NodeStore('n1', systemClock);
  });

  afterEach(async () => {
    await src?.stop();
    src = undefined;
    ka.disconnect();
    await daemon.destroy();
  });

  function makeSource(over: Partial<DbusSourceOptions> = {}): DbusSource {
    const sink = {
      apply: (e: NodeEvent) => {
        events.push(e);
        store.apply(e);
      },
    };
    src = dbusSource({
      address: daemon.address,
      backoff: { initialMs: 50, maxMs: 200 },
      callTimeoutMs: 1000,
      listInterfaces: () => ['lo', 'eth0', 'eth0.100'],
      ...over,
    }, sourceEnv(sink, { clock: systemClock, log: silentLogger() }, 'dbus'));
    return src;
  }

  const of = <K extends NodeEvent['kind']>(k: K) => events.filter((e): e is Extract<NodeEvent, { kind: K }> => e.kind === k);

  test('enumerates at start: Name as "s" and "(s)", State "(us)", the real interface name', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('two instances', () => of('instance').length === 2);
    expect(of('keepalived')).toEqual([expect.objectContaining({ up: true, source: 'dbus' })]);
    const byName = Object.fromEntries(of('instance').map((e) => [e.key.iname, e]));
    expect(byName.VI_1).toMatchObject({ key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER' });
    expect(byName.VI_6).toMatchObject({ key: { iname: 'VI_6', intf: 'eth0.100', vrid: 52, family: 'IPv6' }, state: 'BACKUP' });
    expect(store.state.sources.dbus?.up).toBe(true);
  });

  test('a bus policy that allows Properties.Get but not GetAll (deploy/dbus): Name and State by Get', async () => {
    ka.denyGetAll = true;
    await ka.connect();
    await makeSource().start();
    await waitFor('two instances', () => of('instance').length === 2);
    expect(Object.fromEntries(of('instance').map((e) => [e.key.iname, e.state]))).toEqual({ VI_1: 'MASTER', VI_6: 'BACKUP' });
    expect(store.state.sources.dbus?.up).toBe(true);
    // Tried in the first (parallel) round only; after that, Get only.
    const tried = ka.calls.filter((c) => c.startsWith('GetAll')).length;
    expect(tried).toBeLessThanOrEqual(2);
    ka.global('VrrpReloaded');
    await waitFor('re-enumerated', () => of('instance').length === 4);
    expect(ka.calls.filter((c) => c.startsWith('GetAll'))).toHaveLength(tried);
  });

  test('a signal of a known instance is emitted as a transition, in order', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('enumerated', () => of('instance').length === 2);
    ka.statusChange(P1, 1);
    ka.statusChange(P1, 3);
    ka.statusChange(P1, 2);
    await waitFor('3 transitions', () => of('transition').length === 3);
    expect(of('transition').map((t) => [t.iname, t.state, t.key?.intf])).toEqual([
      ['VI_1', 'BACKUP', 'eth0'],
      ['VI_1', 'FAULT', 'eth0'],
      ['VI_1', 'MASTER', 'eth0'],
    ]);
    expect(store.state.instances.VI_1.state).toBe('MASTER');
  });

  test('signals sent before keepalived owns its name (as 2.2.7 does at start) are not lost', async () => {
    await makeSource().start();
    await waitFor('keepalived down reported', () => of('keepalived').length === 1);
    expect(of('keepalived')[0]).toMatchObject({ up: false });
    await ka.connect(false);
    ka.global('VrrpStarted');
    ka.statusChange(P1, 1);
    await ka.own();
    await waitFor('transition and enumeration', () => of('transition').length === 1 && of('instance').length === 2);
    expect(of('transition')[0]).toMatchObject({ iname: 'VI_1', state: 'BACKUP' });
    expect(of('keepalived').at(-1)).toMatchObject({ up: true });
  });

  test('a new instance after a reload is named on its first signal; a removed one is DELETED', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('enumerated', () => of('instance').length === 2);
    const P3 = '/org/keepalived/Vrrp1/Instance/eth0/53/IPv4';
    ka.instances.delete(P2);
    ka.add(P3, { name: 'VI_3', state: 1 });
    ka.global('VrrpReloaded');
    ka.statusChange(P3, 2);
    await waitFor('VI_3 MASTER and VI_6 DELETED', () => store.state.instances.VI_3?.state === 'MASTER' && store.state.instances.VI_6?.state === 'DELETED');
    expect(of('transition').filter((t) => t.iname === 'VI_6')).toEqual([expect.objectContaining({ state: 'DELETED', cause: expect.stringContaining('reload') })]);
  });

  test('keepalived stops: STOP signals, VrrpStopped -> keepalived down, no stale MASTER', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('enumerated', () => store.state.instances.VI_1?.state === 'MASTER');
    ka.statusChange(P1, 98);
    ka.statusChange(P2, 98);
    ka.global('VrrpStopped');
    ka.disconnect();
    await waitFor('down', () => !store.state.keepalived.up);
    expect(store.state.keepalived.reason).toBe('stopped');
    expect(Object.values(store.state.instances).map((i) => i.state)).toEqual(['STOP', 'STOP']);
    await sleep(100);
    expect(of('keepalived').filter((k) => !k.up)).toHaveLength(1);
  });

  test('keepalived vanishes (crash): down when its process is gone; when it is alive, the source is down instead', async () => {
    let alive = true;
    await ka.connect();
    await makeSource({ keepalivedAlive: async () => ({ alive, pid: 1234 }), aliveRecheckMs: 100 }).start();
    await waitFor('enumerated', () => store.state.instances.VI_1?.state === 'MASTER');
    ka.disconnect();
    await waitFor('source down', () => store.state.sources.dbus?.up === false);
    expect(store.state.sources.dbus?.error).toMatch(/pid 1234\) is running but not on the D-Bus bus/);
    expect(store.state.keepalived.up).toBe(true);
    alive = false;
    await waitFor('keepalived down', () => !store.state.keepalived.up, 3000);
    expect(store.state.sources.dbus?.up).toBe(true);
    expect(store.state.instances.VI_1.state).toBe('STOP');
  });

  test('keepalived joins the bus while its liveness is being read (after a dbus-daemon restart, keepalived restarted): the source is up, not left down', async () => {
    let release: () => void = () => {};
    const checks: number[] = [];
    // The liveness read of "keepalived is off the bus" is slow; keepalived joins while it runs.
    const keepalivedAlive = () => {
      checks.push(Date.now());
      return new Promise<{ alive: boolean; pid: number }>((resolve) => (release = () => resolve({ alive: true, pid: 1234 })));
    };
    // start() resolves once connected, which includes that read.
    const started = makeSource({ keepalivedAlive, aliveRecheckMs: 60_000 }).start();
    await waitFor('the liveness read', () => checks.length === 1);
    await ka.connect();
    await waitFor('enumerated', () => store.state.instances.VI_1?.state === 'MASTER');
    expect(store.state.sources.dbus?.up).toBe(true);
    release();
    await started;
    await sleep(100);
    expect(store.state.sources.dbus?.up).toBe(true);
    expect(store.state.sources.dbus?.error).toBeUndefined();
  });

  test('signals from another connection than keepalived are ignored', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('enumerated', () => of('instance').length === 2);
    const impostor = new FakeKeepalivedBus(daemon.address);
    impostor.add(P1, { name: 'VI_1', state: 2 });
    await impostor.connect(false);
    impostor.statusChange(P1, 3);
    ka.statusChange(P2, 2);
    await waitFor('the real one', () => of('transition').length === 1);
    await sleep(50);
    impostor.disconnect();
    expect(of('transition').map((t) => [t.iname, t.state])).toEqual([['VI_6', 'MASTER']]);
  });

  test('an unknown state code or a strange path is a parse error, not a crash', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('enumerated', () => of('instance').length === 2);
    ka.statusChange(P1, 42);
    ka.bus!.send(require('dbus-next').Message.newSignal('/org/keepalived/Vrrp1/Instance/eth0/999/IPv4', 'org.keepalived.Vrrp1.Instance', 'VrrpStatusChange', 'u', [2]));
    await waitFor('2 parse errors', () => of('parse_error').length === 2);
    expect(of('parse_error').map((e) => e.reason)).toEqual([expect.stringContaining('unknown state 42'), expect.stringContaining('unexpected path')]);
    expect(store.state.sources.dbus?.parseErrors).toBe(2);
  });

  test('dbus-daemon restart: source down, reconnects with backoff, re-enumerates', async () => {
    await ka.connect();
    await makeSource().start();
    await waitFor('enumerated', () => of('instance').length === 2);
    await daemon.stop();
    await waitFor('source down', () => store.state.sources.dbus?.up === false);
    expect(store.state.keepalived.up).toBe(true); // not keepalived's fault
    await sleep(300); // a few failed reconnects meanwhile
    await daemon.start();
    ka.disconnect();
    await ka.connect();
    await waitFor('re-enumerated', () => of('instance').length === 4 && store.state.sources.dbus?.up === true);
    ka.statusChange(P1, 1);
    await waitFor('signals flow again', () => store.state.instances.VI_1.state === 'BACKUP');
  });

  test('no bus at all: start() resolves, the source is down and keeps retrying', async () => {
    await daemon.stop();
    const s = makeSource();
    await expect(s.start()).resolves.toBeUndefined();
    expect(of('source')).toEqual([expect.objectContaining({ up: false })]);
    await daemon.start();
    await waitFor('connected once the bus exists', () => store.state.sources.dbus?.up === true || of('keepalived').length > 0, 3000);
  });

  test('a malformed address is reported, not thrown', async () => {
    const s = makeSource({ address: 'nonsense' });
    await expect(s.start()).resolves.toBeUndefined();
    expect(of('source')[0]).toMatchObject({ up: false, error: expect.stringContaining('nonsense') });
  });

  test('printData / printStats call keepalived', async () => {
    await ka.connect();
    const s = makeSource();
    await s.start();
    await s.printData();
    await s.printStats();
    expect(ka.calls.filter((c) => c.startsWith('Print'))).toEqual(['PrintData', 'PrintStats']);
    await s.stop();
    await expect(s.printData()).rejects.toThrow(/not connected/);
  });
});
