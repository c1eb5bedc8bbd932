// keepalived.conf of the deployments that are not the textbook pair (issue 9): preemption
// settings, sync groups, unicast peers, IPv6 / VRRPv3 instances; and what reaches the store.
// The fixture-based parser tests (confParser.test.ts) cover the common cases; these fill the gaps.
import fc from 'fast-check';
import { parseKeepalivedConfText } from '../../../agent/keepalived/confParser';
import { instanceEventsFromConf } from '../../../agent/keepalived/confSource';
import { NodeStore } from '../../../agent/state/store';
import { FakeClock } from '../../helpers/fakeClock';

const issues = (text: string) => parseKeepalivedConfText(text, 'v.conf').issues.map((i) => `${i.line} ${i.severity}: ${i.message}`);

describe('preemption', () => {
  test('nopreempt, and a later "preempt" turning it back off; preempt_delay with fractions', () => {
    const c = parseKeepalivedConfText(
      [
        'vrrp_instance A {', ' interface eth0', ' virtual_router_id 1', ' nopreempt', ' preempt_delay 2.5', '}',
        'vrrp_instance B {', ' interface eth0', ' virtual_router_id 2', ' nopreempt', ' preempt', '}',
        'vrrp_instance C {', ' interface eth0', ' virtual_router_id 3', '}',
      ].join('\n'),
    );
    expect(c.issues).toEqual([]);
    expect(c.instances.map((i) => [i.name, i.nopreempt, i.preemptDelayS])).toEqual([
      ['A', true, 2.5],
      ['B', false, undefined],
      ['C', false, undefined],
    ]);
    // keepalived's defaults reach the store explicitly: preempt on, no delay.
    expect(instanceEventsFromConf(c, 0).map((e) => [e.key.iname, e.nopreempt, e.preemptDelayS])).toEqual([
      ['A', true, 2.5],
      ['B', false, 0],
      ['C', false, 0],
    ]);
  });

  test('a bad preempt_delay is an error naming the line; the instance is still read', () => {
    expect(issues('vrrp_instance A {\n interface eth0\n virtual_router_id 1\n preempt_delay 1001\n}\n')).toEqual(['4 error: preempt_delay must be a number 0-1000, got "1001"']);
    // A keyword without its value makes keepalived exit: the whole configuration is refused.
    expect(issues('vrrp_instance A {\n interface eth0\n virtual_router_id 1\n preempt_delay\n}\n')).toEqual(['4 error: keyword preempt_delay missing a parameter']);
    expect(parseKeepalivedConfText('vrrp_instance A {\n interface eth0\n virtual_router_id 1\n preempt_delay\n}\n').fatal).toMatchObject({ line: 4, code: 'missing-parameter' });
    expect(parseKeepalivedConfText('vrrp_instance A {\n interface eth0\n virtual_router_id 1\n preempt_delay soon\n}\n').instances[0]).toMatchObject({ name: 'A', preemptDelayS: undefined });
  });
});

describe('vrrp_sync_group', () => {
  test('members on one line or several, notify scripts of the group; each instance knows its group', () => {
    const c = parseKeepalivedConfText(
      [
        'vrrp_sync_group G_OUT {',
        '  group {',
        '    VI_OUT VI_IN',
        '    VI_6',
        '  }',
        '  notify_master "/etc/keepalived/group.sh MASTER"',
        '  notify_fault /etc/keepalived/group-fault.sh',
        '}',
        'vrrp_sync_group G_EMPTY {',
        '}',
        ...['VI_OUT', 'VI_IN', 'VI_6', 'VI_ALONE'].map((n, i) => `vrrp_instance ${n} {\n interface eth${i}\n virtual_router_id ${i + 1}\n}`),
      ].join('\n'),
    );
    expect(c.issues).toEqual([]);
    expect(c.syncGroups.map((g) => [g.name, g.instances, g.notify])).toEqual([
      ['G_OUT', ['VI_OUT', 'VI_IN', 'VI_6'], { master: '/etc/keepalived/group.sh MASTER', fault: '/etc/keepalived/group-fault.sh' }],
      ['G_EMPTY', [], {}],
    ]);
    expect(Object.fromEntries(instanceEventsFromConf(c, 0).map((e) => [e.key.iname, e.syncGroup]))).toEqual({ VI_OUT: 'G_OUT', VI_IN: 'G_OUT', VI_6: 'G_OUT', VI_ALONE: undefined });
  });

  test('a group defined before or after its instances: same membership (property)', () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,6}$/), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(names, fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 8, maxLength: 8 }), fc.boolean(), (insts, groupOf, groupsFirst) => {
        // groupOf[i]: 0 = no group, 1 = G1, 2 = G2
        const members = (g: number) => insts.filter((_, i) => groupOf[i] === g);
        const groups = [1, 2]
          .filter((g) => members(g).length)
          .map((g) => `vrrp_sync_group G${g} {\n group {\n${members(g).join('\n')}\n }\n}`);
        const instances = insts.map((n, i) => `vrrp_instance ${n} {\n interface eth0\n virtual_router_id ${i + 1}\n}`);
        const c = parseKeepalivedConfText((groupsFirst ? [...groups, ...instances] : [...instances, ...groups]).join('\n'));
        expect(c.issues).toEqual([]);
        for (const [i, n] of insts.entries()) {
          expect(c.instances.find((x) => x.name === n)?.syncGroup).toBe(groupOf[i] ? `G${groupOf[i]}` : undefined);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('unicast_peer', () => {
  test('IPv4 and IPv6 peers, IPv6 unicast_src_ip; a bad entry is an error with its line, the good ones kept', () => {
    const c = parseKeepalivedConfText(
      [
        'vrrp_instance V6 {',
        '  interface eth0',
        '  virtual_router_id 61',
        '  unicast_src_ip 2001:db8::11',
        '  unicast_peer {',
        '    2001:DB8:0:0::12',
        '    2001:db8::13 min_ttl 1 max_ttl 2',
        '    peer-three',
        '  }',
        '  virtual_ipaddress {',
        '    2001:db8::100/64 dev eth0',
        '  }',
        '}',
      ].join('\n'),
      'u.conf',
    );
    expect(c.issues.map((i) => `${i.line} ${i.severity}: ${i.message}`)).toEqual(['8 error: unicast_peer: "peer-three" is not an IP address']);
    expect(c.instances[0]).toMatchObject({ unicastSrcIp: '2001:db8::11', unicastPeers: ['2001:DB8:0:0::12', '2001:db8::13'], family: 'IPv6' });
    // The store and the peers module get one spelling per address.
    expect(instanceEventsFromConf(c, 0)[0].unicastPeers).toEqual(['2001:db8::12', '2001:db8::13']);
  });

  test('no unicast_peer block: multicast, an empty list', () => {
    const c = parseKeepalivedConfText('vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\n');
    expect(instanceEventsFromConf(c, 0)[0].unicastPeers).toEqual([]);
  });
});

describe('IPv6 / VRRPv3', () => {
  test('family from the first VIP, native_ipv6 without VIPs, VIPs in one spelling, vrrp_version from global_defs or the instance', () => {
    const c = parseKeepalivedConfText(
      [
        'global_defs {', '  vrrp_version 3', '}',
        'vrrp_instance V6 {', '  interface eth0', '  virtual_router_id 61', '  advert_int 0.25',
        '  virtual_ipaddress {', '    2001:DB8:0:0:0:0:0:100/64 dev eth0', '    fe80::100/64 dev eth0 scope link', '  }', '}',
        'vrrp_instance NATIVE {', '  interface eth1', '  virtual_router_id 62', '  native_ipv6', '  version 2', '}',
        'vrrp_instance V4 {', '  interface eth0', '  virtual_router_id 51', '  virtual_ipaddress {', '    192.0.2.100/24', '  }', '}',
      ].join('\n'),
    );
    expect(c.issues).toEqual([]);
    expect(c.globalDefs.vrrpVersion).toBe(3);
    expect(c.instances.map((i) => [i.name, i.family, i.vrrpVersion, i.advertIntS])).toEqual([
      ['V6', 'IPv6', 3, 0.25],
      // VRRPv2 is IPv4 only: keepalived runs an IPv6 instance as VRRPv3 whatever `version` says.
      ['NATIVE', 'IPv6', 3, 1],
      ['V4', 'IPv4', 3, 1],
    ]);
    expect(c.instances[0].vips.map((v) => [v.address, v.prefix, v.scope])).toEqual([
      ['2001:DB8:0:0:0:0:0:100', 64, undefined],
      ['fe80::100', 64, 'link'],
    ]);
    const evs = instanceEventsFromConf(c, 0);
    expect(evs.map((e) => [e.key, e.vips, e.advertIntervalMs])).toEqual([
      [{ iname: 'V6', intf: 'eth0', vrid: 61, family: 'IPv6' }, ['2001:db8::100', 'fe80::100'], 250],
      [{ iname: 'NATIVE', intf: 'eth1', vrid: 62, family: 'IPv6' }, [], 1000],
      [{ iname: 'V4', intf: 'eth0', vrid: 51, family: 'IPv4' }, ['192.0.2.100'], 1000],
    ]);
  });

  test('an address of the other family is an error and is dropped, as keepalived ignores it; it never reaches the store', () => {
    const text = 'vrrp_instance V6 {\n interface eth0\n virtual_router_id 61\n virtual_ipaddress {\n  2001:db8::1\n  192.0.2.1\n }\n}\n';
    expect(issues(text)).toEqual(['6 error: vrrp_instance V6: IPv4 address 192.0.2.1 in an IPv6 instance (keepalived ignores it: the first address decides the family)']);
    const c = parseKeepalivedConfText(text, 'v.conf');
    expect(c.instances[0].vips.map((v) => v.address)).toEqual(['2001:db8::1']);
    expect(c.instances[0].droppedVips.map((v) => v.address)).toEqual(['192.0.2.1']);
    expect(instanceEventsFromConf(c, 0)[0].vips).toEqual(['2001:db8::1']);
  });
});

describe('what reaches the store', () => {
  test('preemption, sync group and unicast peers from keepalived.conf survive a D-Bus transition; the group state is kept apart', () => {
    const clock = new FakeClock(1_000_000);
    const store = new NodeStore('ka1', clock);
    const c = parseKeepalivedConfText(
      'vrrp_sync_group G1 {\n group {\n VI_1\n }\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n nopreempt\n preempt_delay 30\n unicast_peer {\n 192.0.2.12\n }\n virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n',
    );
    for (const ev of instanceEventsFromConf(c, clock.now())) store.apply(ev);
    store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: clock.now(), source: 'dbus', key: { intf: 'eth0', vrid: 51, family: 'IPv4' } });
    store.apply({ kind: 'group', group: 'G1', state: 'MASTER', at: clock.now(), source: 'fifo' });
    expect(store.state.instances.VI_1).toMatchObject({ state: 'MASTER', nopreempt: true, preemptDelayS: 30, syncGroup: 'G1', unicastPeers: ['192.0.2.12'], vips: ['192.0.2.100'] });
    expect(store.state.groups.G1).toMatchObject({ state: 'MASTER', since: 1_000_000 });
  });
});
