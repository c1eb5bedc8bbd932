// A node store as the exporters' tests read it: keepalived up, VI_1 MASTER with two VIPs, VI_2
// BACKUP without VIPs, VI_3 known from keepalived.conf only.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';

/** On `clock` (default a fresh FakeClock). */
export function storeWithInstances(clock = new FakeClock()): NodeStore {
  const store = new NodeStore('ka1', clock);
  const at = clock.now();
  store.apply({ kind: 'keepalived', up: true, pid: 4242, at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'], state: 'MASTER', at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_2', intf: 'eth1', vrid: 52, family: 'IPv4' }, vips: [], state: 'BACKUP', at, source: 'dbus' });
  // Known from keepalived.conf only: no state yet, so no series.
  store.apply({ kind: 'instance', key: { iname: 'VI_3', intf: 'eth1', vrid: 53, family: 'IPv4' }, vips: ['192.0.2.102'], at, source: 'keepalived_conf' });
  return store;
}
