// keepalived_* from the store: the keepalived exporter's names, labels and help (its dashboards
// and alerts keep working), and never a stale MASTER once keepalived is gone.
import { keepalivedCollector } from '../../../exporters/keepalived';
import { parseDumpData } from '../../../agent/sources/parse/dumpData';
import { exposition, samples } from './exposition';
import { storeWithInstances } from './storeFixtures';


describe('keepalived collector', () => {
  test('one keepalived_vrrp_state series per VIP (ip_address="" without one); an instance in no known state has none', async () => {
    const render = exposition(keepalivedCollector(storeWithInstances()));
    const text = await render();
    expect(text).toContain('# HELP keepalived_up Status\n# TYPE keepalived_up gauge\nkeepalived_up 1\n');
    expect(text).toContain('# HELP keepalived_vrrp_state State of vrrp\n# TYPE keepalived_vrrp_state gauge\n');
    expect(samples(text, 'keepalived_vrrp_state')).toEqual([
      'keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.100/32"} 2',
      'keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.101/32"} 2',
      'keepalived_vrrp_state{iname="VI_2",intf="eth1",vrid="52",ip_address=""} 1',
    ]);
  });

  test('ip_address and intf as the keepalived exporter reads them from the dump: addr/prefix, the VIP\'s dev', async () => {
    const store = storeWithInstances();
    // The dump's own lines, through the real parser: prefix as written, /128 default for IPv6, dev per VIP.
    const data = [
      '------< VRRP Topology >------',
      ' VRRP Instance = VI_7',
      '   State = MASTER',
      '   Interface = eth0',
      '   Virtual Router ID = 57',
      '   Virtual IP (3):',
      '     10.1.0.1/24 dev eth1 scope global',
      '     10.1.0.2 dev eth0 scope global',
      '     10.1.0.3/32 scope global',
      '   Virtual IP Excluded (2):',
      '     2001:db8::7/64 dev eth2 scope global',
      '     2001:db8::8 dev eth0 scope global',
      '------< Interfaces >------',
      '',
    ].join('\n');
    const parsed = parseDumpData(data, { at: 1, withState: true });
    expect(parsed.complete).toBe(true);
    for (const ev of parsed.events) store.apply(ev);
    const text = await exposition(keepalivedCollector(store))();
    expect(samples(text, 'keepalived_vrrp_state').filter((l) => l.includes('VI_7'))).toEqual([
      'keepalived_vrrp_state{iname="VI_7",intf="eth0",vrid="57",ip_address="10.1.0.2/32"} 2',
      'keepalived_vrrp_state{iname="VI_7",intf="eth0",vrid="57",ip_address="10.1.0.3/32"} 2',
      'keepalived_vrrp_state{iname="VI_7",intf="eth1",vrid="57",ip_address="10.1.0.1/24"} 2',
    ]);
    expect(text).toContain('# HELP keepalived_vrrp_excluded_state State of vrrp with excluded VIP\n# TYPE keepalived_vrrp_excluded_state gauge\n');
    expect(samples(text, 'keepalived_vrrp_excluded_state')).toEqual([
      'keepalived_vrrp_excluded_state{iname="VI_7",intf="eth0",vrid="57",ip_address="2001:db8::8/128"} 2',
      'keepalived_vrrp_excluded_state{iname="VI_7",intf="eth2",vrid="57",ip_address="2001:db8::7/64"} 2',
    ]);
  });

  test('VIPs from keepalived.conf keep their written prefix and dev', async () => {
    const store = storeWithInstances();
    store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'], vipEntries: [{ address: '192.0.2.100', prefix: 24, dev: 'eth3' }], at: 2, source: 'keepalived_conf' });
    const text = await exposition(keepalivedCollector(store))();
    expect(samples(text, 'keepalived_vrrp_state').filter((l) => l.includes('VI_1'))).toEqual(['keepalived_vrrp_state{iname="VI_1",intf="eth3",vrid="51",ip_address="192.0.2.100/24"} 2']);
  });

  test('the per-instance counters: a series for each counter the dumps gave, every family declared', async () => {
    const store = storeWithInstances();
    store.apply({ kind: 'counters', iname: 'VI_1', counters: { advertisements_received: 12, become_master: 1, release_master: 0 }, at: 1, source: 'dumps' });
    const text = await exposition(keepalivedCollector(store))();
    expect(samples(text, 'keepalived_').filter((l) => l.includes('_total'))).toEqual([
      'keepalived_advertisements_received_total{iname="VI_1",intf="eth0",vrid="51"} 12',
      'keepalived_become_master_total{iname="VI_1",intf="eth0",vrid="51"} 1',
      'keepalived_release_master_total{iname="VI_1",intf="eth0",vrid="51"} 0',
    ]);
    expect(text).toContain('# HELP keepalived_gratuitous_arp_delay_total Gratuitous ARP delay\n# TYPE keepalived_gratuitous_arp_delay_total counter\n');
    expect(text.match(/^# TYPE keepalived_\w+_total counter$/gm)).toHaveLength(15);
  });

  test('track scripts: status from good, state only when known', async () => {
    const store = storeWithInstances();
    store.apply({ kind: 'script', name: 'chk_nginx', good: true, state: 0, at: 1, source: 'dumps' });
    store.apply({ kind: 'script', name: 'chk_disk', good: false, at: 1, source: 'fifo' });
    const text = await exposition(keepalivedCollector(store))();
    expect(samples(text, 'keepalived_script_')).toEqual([
      'keepalived_script_state{name="chk_nginx"} 0',
      'keepalived_script_status{name="chk_disk"} 0',
      'keepalived_script_status{name="chk_nginx"} 1',
    ]);
  });

  test('a dead keepalived exports keepalived_up 0 and its instances as STOP, no MASTER series', async () => {
    const store = storeWithInstances();
    const render = exposition(keepalivedCollector(store));
    expect(await render()).toMatch(/^keepalived_vrrp_state\{[^}]*\} 2$/m);
    store.apply({ kind: 'keepalived', up: false, at: 2, source: 'dbus', reason: 'stopped' });
    const text = await render();
    expect(text).toMatch(/^keepalived_up 0$/m);
    expect(text).toMatch(/^keepalived_vrrp_state\{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.100\/32"\} 98$/m);
    expect(text).not.toMatch(/keepalived_vrrp_state\{[^}]*\} 2$/m);
  });

  test('the revision is the store\'s: unchanged store, unchanged text', () => {
    const store = storeWithInstances();
    const c = keepalivedCollector(store);
    const r = c.revision?.();
    expect(c.revision?.()).toBe(r);
    store.apply({ kind: 'counters', iname: 'VI_1', counters: { advertisements_sent: 1 }, at: 3, source: 'dumps' });
    expect(c.revision?.()).not.toBe(r);
  });
});
