// keepwatch_vrrp_group_state / keepwatch_vrrp_group_instances from the store.
import { NodeStore } from '../../../agent/state/store';
import { createMetricsRegistry } from '../../../exporters/registry';
import { groupsCollector } from '../../../exporters/groups';
import { FakeClock } from '../../helpers/fakeClock';

test('group state and its members by state; STOP when keepalived is down; a group known only from keepalived.conf has no state yet; every state has a series', async () => {
  const clock = new FakeClock();
  const store = new NodeStore('ka1', clock);
  const at = clock.now();
  store.apply({ kind: 'keepalived', up: true, at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, syncGroup: 'G1', state: 'MASTER', at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_2', intf: 'eth1', vrid: 52, family: 'IPv4' }, syncGroup: 'G1', state: 'BACKUP', at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_3', intf: 'eth1', vrid: 53, family: 'IPv4' }, syncGroup: 'G2', at, source: 'keepalived_conf' });
  store.apply({ kind: 'group', group: 'G1', state: 'MASTER', at, source: 'fifo' });
  const m = createMetricsRegistry([groupsCollector(store)]);
  let body = (await m.scrape()).body;
  expect(body).toMatch(/^keepwatch_vrrp_group_state\{group="G1"\} 2$/m);
  expect(body).not.toMatch(/keepwatch_vrrp_group_state\{group="G2"\}/);
  expect(body).toMatch(/^keepwatch_vrrp_group_instances\{group="G1",state="MASTER"\} 1$/m);
  expect(body).toMatch(/^keepwatch_vrrp_group_instances\{group="G1",state="BACKUP"\} 1$/m);
  expect(body).toMatch(/^keepwatch_vrrp_group_instances\{group="G2",state="UNKNOWN"\} 1$/m);
  // Every group has a series at 0 for each of keepalived's states no instance is in.
  for (const state of ['INIT', 'FAULT', 'STOP']) expect(body).toMatch(new RegExp(`^keepwatch_vrrp_group_instances\\{group="G1",state="${state}"\\} 0$`, 'm'));
  for (const state of ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP']) expect(body).toMatch(new RegExp(`^keepwatch_vrrp_group_instances\\{group="G2",state="${state}"\\} 0$`, 'm'));
  store.apply({ kind: 'keepalived', up: false, at: clock.now(), source: 'dbus', reason: 'stopped' });
  body = (await m.scrape()).body;
  expect(body).toMatch(/^keepwatch_vrrp_group_state\{group="G1"\} 98$/m);
  expect(body).toMatch(/^keepwatch_vrrp_group_state\{group="G2"\} 98$/m);
});
