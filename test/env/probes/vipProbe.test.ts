// VipProbe with a real `ip -o monitor address` in a private network namespace: needs root. The
// probe's logic is tested with a fake monitor in test/unit/probes/vipProbe.test.ts.
import { spawnSync } from 'node:child_process';
import { FakeClock } from '../../helpers/fakeClock';
import { describeNeeding, needs } from '../../helpers/needs';
import { sleep, waitFor } from '../../helpers/wait';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import { VipProbe, type AddressReader } from '../../../agent/probes/vipProbe';
import { parseIpAddrJson } from '../../../agent/probes/parse/ipAddrJson';
import { systemClock } from '../../../agent/context';
import type { VipObservationEvent } from '../../../agent/state/types';

const NS = `kwp-vipunit-${process.pid}`;

function storeWith(clock: FakeClock) {
  const store = new NodeStore('n1', clock);
  store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'] });
  store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_6', intf: 'eth0', vrid: 52, family: 'IPv6' }, vips: ['2001:DB8:0:0::100'] });
  return store;
}

describeNeeding([needs.root('network namespaces'), needs.command('ip', 'iproute2')], 'VipProbe with a real `ip -o monitor address` in a namespace', () => {
  const ip = (...a: string[]) => {
    const r = spawnSync('ip', a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
  };
  beforeAll(() => {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    ip('-n', NS, 'link', 'set', 'eth1', 'up');
    ip('-n', NS, 'link', 'set', 'eth0', 'up');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  test('a VIP that appears or vanishes is seen without polling', async () => {
    const store = storeWith(new FakeClock());
    // Addresses of the namespace, read as the agent inside it would (through ip -json there).
    const read: AddressReader = () => {
      const r = parseIpAddrJson(spawnSync('ip', ['-n', NS, '-json', 'addr', 'show'], { encoding: 'utf8' }).stdout);
      return new Map(r.ok ? r.addresses.map((a) => [a.address, a.dev]) : []);
    };
    // No scheduler here: whatever the probe sees, it sees through its monitor. (How soon: bench/probeCost.ts.)
    const p = new VipProbe({ store, clock: systemClock, log: silentLogger(), readAddresses: read, monitorCommand: ['ip', 'netns', 'exec', NS, 'ip', '-o', 'monitor', 'address'] });
    const seen: VipObservationEvent[] = [];
    await p.start((e) => {
      if (e.kind === 'vip') seen.push(e);
    });
    await waitFor(() => seen.length > 0, { what: 'the monitor started' });
    await sleep(300); // ip subscribing to netlink after it started
    const bound = (ev: VipObservationEvent, vip: string) => ev.vips.find((v) => v.vip === vip)?.intf;
    const seenAfter = async (change: () => void, pred: (ev: VipObservationEvent) => boolean, what: string) => {
      seen.length = 0;
      change();
      await waitFor(() => seen.some(pred), { what });
    };

    await seenAfter(() => ip('-n', NS, 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0', 'label', 'eth0:vip'), (ev) => bound(ev, '192.0.2.100') === 'eth0', '192.0.2.100 bound');
    await seenAfter(() => ip('-n', NS, '-6', 'addr', 'add', '2001:db8::100/64', 'dev', 'eth0', 'nodad'), (ev) => bound(ev, '2001:db8::100') === 'eth0', '2001:db8::100 bound');
    await seenAfter(() => ip('-n', NS, 'addr', 'del', '192.0.2.100/24', 'dev', 'eth0'), (ev) => bound(ev, '192.0.2.100') === null, '192.0.2.100 gone');
    expect(p.monitorLines).toBeGreaterThanOrEqual(3);
    await p.stop();
  });
});
