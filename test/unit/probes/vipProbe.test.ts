import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { FakeClock } from '../../helpers/fakeClock';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import { VipProbe, osAddressReader } from '../../../agent/probes/vipProbe';
import { waitFor } from '../../helpers/wait';
import type { NodeEvent, VipObservationEvent } from '../../../agent/state/types';

const tick = () => new Promise((r) => setImmediate(r));

class FakeChild extends EventEmitter {
  stdout = new PassThrough();
  stderr = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  kill() {
    this.exit(null, 'SIGTERM');
    return true;
  }
  exit(code: number | null, sig: NodeJS.Signals | null = null) {
    this.exitCode = code;
    this.signalCode = sig;
    this.emit('close', code, sig);
  }
}

function storeWith(clock: FakeClock) {
  const store = new NodeStore('n1', clock);
  store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'] });
  store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_6', intf: 'eth0', vrid: 52, family: 'IPv6' }, vips: ['2001:DB8:0:0::100'] });
  return store;
}

describe('VipProbe', () => {
  test('expected VIPs from the store, the config override winning for its instance; IPv6 normalized', async () => {
    const clock = new FakeClock();
    const store = storeWith(clock);
    const bound = new Map([['192.0.2.100', 'eth0'], ['2001:db8::100', 'eth1']]);
    const p = new VipProbe({ store, clock, log: silentLogger(), readAddresses: () => bound, monitorCommand: null, overrides: { VI_1: ['192.0.2.100/24', '192.0.2.102'], VI_X: ['192.0.2.9'] } });
    expect(p.expected()).toEqual([
      { iname: 'VI_1', vip: '192.0.2.100' },
      { iname: 'VI_1', vip: '192.0.2.102' },
      { iname: 'VI_X', vip: '192.0.2.9' },
      { iname: 'VI_6', vip: '2001:db8::100' },
    ]);
    const [ev] = (await p.run(new AbortController().signal)) as VipObservationEvent[];
    expect(ev.vips).toEqual([
      { iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' },
      { iname: 'VI_1', vip: '192.0.2.102', intf: null },
      { iname: 'VI_X', vip: '192.0.2.9', intf: null },
      { iname: 'VI_6', vip: '2001:db8::100', intf: 'eth1' },
    ]);
    // VIPs missing here are a finding for the rules, not a failed run.
    expect(p.judge()).toBeUndefined();
    store.apply(ev);
    expect(store.state.vips['VI_1|192.0.2.100']).toMatchObject({ intf: 'eth0' });
  });

  test('os reader: labels map to their device, IPv6 normalized, the prefix from the CIDR when known', () => {
    const read = osAddressReader(() => ({
      eth0: [{ address: '192.0.2.11', family: 'IPv4', mac: 'aa', internal: false, netmask: '', cidr: null }],
      'eth0:vip': [{ address: '192.0.2.100', family: 'IPv4', mac: 'aa', internal: false, netmask: '255.255.255.0', cidr: '192.0.2.100/24' }],
      eth1: [{ address: '2001:db8::100', family: 'IPv6', mac: 'aa', internal: false, netmask: '', cidr: '2001:db8::100/64', scopeid: 0 }],
    }));
    expect([...read()]).toEqual([
      ['192.0.2.11', { intf: 'eth0' }],
      ['192.0.2.100', { intf: 'eth0', prefix: 24 }],
      ['2001:db8::100', { intf: 'eth1', prefix: 64 }],
    ]);
  });

  test('the prefix reaches the store with the observation (for the fix a page names)', async () => {
    const clock = new FakeClock();
    const store = storeWith(clock);
    const p = new VipProbe({ store, clock, log: silentLogger(), readAddresses: () => new Map([['192.0.2.100', { intf: 'eth0', prefix: 24 }]]), monitorCommand: null });
    const [ev] = (await p.run(new AbortController().signal)) as VipObservationEvent[];
    expect(ev.vips[0]).toEqual({ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0', prefix: 24 });
    store.apply(ev);
    expect(store.state.vips['VI_1|192.0.2.100']).toMatchObject({ intf: 'eth0', prefix: 24 });
    expect(store.state.vips['VI_1|192.0.2.101'].prefix).toBeUndefined();
  });

  test('the monitor: any line re-reads, only a change is emitted; it is restarted with backoff when it dies', async () => {
    const clock = new FakeClock();
    const store = storeWith(clock);
    let bound = new Map<string, string>();
    const children: FakeChild[] = [];
    const spawned: string[][] = [];
    const p = new VipProbe({
      store,
      clock,
      log: silentLogger(),
      readAddresses: () => bound,
      spawn: (cmd, args) => {
        spawned.push([cmd, ...args]);
        const c = new FakeChild();
        children.push(c);
        setImmediate(() => c.emit('spawn'));
        return c as unknown as ChildProcess;
      },
    });
    const events: NodeEvent[] = [];
    await p.start((e) => {
      events.push(e);
      store.apply(e);
    });
    await tick();
    await tick();
    expect(spawned).toEqual([['ip', '-o', 'monitor', 'address']]);
    const vipEvents = () => events.filter((e): e is VipObservationEvent => e.kind === 'vip');
    expect(vipEvents()).toHaveLength(1); // the read right after the monitor is up
    expect(events.find((e) => e.kind === 'source')).toMatchObject({ up: true });

    bound = new Map([['192.0.2.100', 'eth0']]);
    children[0].stdout.write('2: eth0    inet 192.0.2.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n');
    await tick();
    await tick();
    expect(vipEvents()).toHaveLength(2);
    expect(vipEvents()[1].vips[0]).toEqual({ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' });
    expect(store.state.vipChanges).toBe(1);

    // An unrelated change: no event.
    children[0].stdout.write('1: lo    inet 198.51.100.7/24 scope host lo\\       valid_lft forever preferred_lft forever\n');
    await tick();
    await tick();
    expect(vipEvents()).toHaveLength(2);

    children[0].exit(1);
    expect(events[events.length - 1]).toMatchObject({ kind: 'source', up: false, error: expect.stringContaining('restarting in 200 ms') });
    clock.advance(199);
    expect(spawned).toHaveLength(1);
    clock.advance(1);
    expect(spawned).toHaveLength(2);
    await tick();
    children[1].exit(1);
    expect(events[events.length - 1]).toMatchObject({ kind: 'source', up: false, error: expect.stringContaining('restarting in 400 ms') });
    clock.advance(400);
    expect(spawned).toHaveLength(3);

    // An instance learnt later (D-Bus, conf re-read) is picked up without waiting for a run.
    store.apply({ kind: 'instance', source: 'dbus', at: 2, key: { iname: 'VI_2', intf: 'eth0', vrid: 53, family: 'IPv4' }, vips: ['192.0.2.200'] });
    await tick();
    expect(vipEvents().at(-1)!.vips.map((v) => v.vip)).toContain('192.0.2.200');

    await p.stop();
    expect(clock.pending()).toBe(0);
  });

  test('a missing ip binary: reported, retried, never thrown', async () => {
    const clock = new FakeClock();
    const store = storeWith(clock);
    const p = new VipProbe({ store, clock, log: silentLogger(), readAddresses: () => new Map(), monitorCommand: ['/nonexistent/ip', 'monitor'] });
    const events: NodeEvent[] = [];
    await p.start((e) => events.push(e));
    const reported = await waitFor(() => events.find((e) => e.kind === 'source'), { what: 'the monitor reported down' });
    expect(reported).toMatchObject({ up: false, error: expect.stringContaining('/nonexistent/ip not found (install iproute2)') });
    await p.stop();
  });
});
