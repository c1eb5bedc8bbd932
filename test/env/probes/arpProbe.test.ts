// ArpProbe with a real arping (iputils-arping) between two network namespaces: needs root. The
// parsing and the probe's logic are tested on captured output in test/unit/probes/arpProbe.test.ts.
import { spawnSync } from 'node:child_process';
import { FakeClock } from '../../helpers/fakeClock';
import { describeNeeding, needs } from '../../helpers/needs';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import { ArpProbe } from '../../../agent/probes/arpProbe';
import type { VipDuplicateEvent } from '../../../agent/state/types';

function holding(clock: FakeClock, vips: Array<[string, string | null]>) {
  const store = new NodeStore('n1', clock);
  store.apply({ kind: 'vip', source: 'vip_probe', at: 1, vips: vips.map(([vip, intf]) => ({ iname: 'VI_1', vip, intf })) });
  return store;
}

describeNeeding([needs.root('network namespaces'), needs.command('arping', 'apt-get install iputils-arping'), needs.command('ip', 'iproute2')], 'ArpProbe with real arping between two namespaces', () => {
  const A = `kwp-arpa-${process.pid}`;
  const B = `kwp-arpb-${process.pid}`;
  const ip = (...a: string[]) => {
    const r = spawnSync('ip', a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  beforeAll(() => {
    ip('netns', 'add', A);
    ip('netns', 'add', B);
    ip('link', 'add', 'eth0', 'netns', A, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', B);
    ip('-n', A, 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0');
    ip('-n', B, 'addr', 'add', '192.0.2.12/24', 'dev', 'eth0');
    ip('-n', A, 'link', 'set', 'eth0', 'up');
    ip('-n', B, 'link', 'set', 'eth0', 'up');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', A]);
    spawnSync('ip', ['netns', 'del', B]);
  });

  test('both hold the VIP -> duplicate with the other MAC; only one -> clean', async () => {
    const clock = new FakeClock();
    const store = holding(clock, [['192.0.2.100', 'eth0']]);
    const macB = (JSON.parse(ip('-n', B, '-json', 'link', 'show', 'eth0')) as Array<{ address: string }>)[0].address;
    const p = new ArpProbe({ store, clock, log: silentLogger(), command: (d, v) => ['ip', 'netns', 'exec', A, 'arping', '-D', '-c', '2', '-w', '2', '-I', d, v], ownMacs: () => new Set() });
    ip('-n', A, 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0');
    ip('-n', B, 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0');
    const dup = (await p.run(new AbortController().signal)) as VipDuplicateEvent[];
    expect(dup).toEqual([expect.objectContaining({ vip: '192.0.2.100', duplicate: true, mac: macB.toLowerCase() })]);
    ip('-n', B, 'addr', 'del', '192.0.2.100/24', 'dev', 'eth0');
    const clean = (await p.run(new AbortController().signal)) as VipDuplicateEvent[];
    expect(clean).toEqual([expect.objectContaining({ vip: '192.0.2.100', duplicate: false })]);
    expect(clean[0].error).toBeUndefined();
  }, 30000);
});
