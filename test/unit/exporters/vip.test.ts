// keepwatch_vip_* from the VIP and arp probes' results.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { vipCollector } from '../../../exporters/vip';
import { exposition, samples } from './exposition';

describe('vip collector', () => {
  test('bound 0/1 with the interface, changes, duplicate only where known', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'] });
    const vips = (a: string | null, b: string | null, c: string | null) => ({
      kind: 'vip' as const,
      source: 'vip_probe' as const,
      at: clock.now(),
      vips: [
        { iname: 'VI_1', vip: '192.0.2.100', intf: a },
        { iname: 'VI_1', vip: '192.0.2.101', intf: b },
        { iname: 'VI_6', vip: '2001:db8::100', intf: c },
      ],
    });
    store.apply(vips('eth0', null, null));
    clock.advance(1000);
    store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: true, mac: 'a2:91:7f:ee:ba:bb' });
    const render = exposition(vipCollector(store));
    let text = await render();
    expect(samples(text, 'keepwatch_vip_')).toEqual([
      'keepwatch_vip_bound{iname="VI_1",vip="192.0.2.100",intf="eth0"} 1',
      'keepwatch_vip_bound{iname="VI_1",vip="192.0.2.101",intf="eth0"} 0',
      'keepwatch_vip_bound{iname="VI_6",vip="2001:db8::100",intf=""} 0',
      'keepwatch_vip_changes_total 0',
      'keepwatch_vip_duplicate{vip="192.0.2.100"} 1',
      'keepwatch_vip_duplicate{vip="192.0.2.101"} 0',
    ]);
    // The VIP moves away and comes back: the old duplicate result no longer counts until probed again.
    clock.advance(1000);
    store.apply(vips(null, null, 'eth1'));
    clock.advance(1000);
    store.apply(vips('eth0', null, 'eth1'));
    text = await render();
    expect(samples(text, 'keepwatch_vip_changes_total')).toEqual(['keepwatch_vip_changes_total 3']);
    expect(samples(text, 'keepwatch_vip_duplicate')).toEqual(['keepwatch_vip_duplicate{vip="192.0.2.101"} 0']);
    // Probing that could not run: no series (unknown is not 0).
    store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: false, error: 'arping has no permission to send raw packets: it needs CAP_NET_RAW' });
    expect(samples(await render(), 'keepwatch_vip_duplicate')).toEqual(['keepwatch_vip_duplicate{vip="192.0.2.101"} 0']);
    store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: false });
    expect(samples(await render(), 'keepwatch_vip_duplicate')).toEqual(['keepwatch_vip_duplicate{vip="192.0.2.100"} 0', 'keepwatch_vip_duplicate{vip="192.0.2.101"} 0']);
  });
});

