// vrrp_sync_group states: keepwatch_vrrp_group_state{group} with keepalived's state codes (as
// keepalived_vrrp_state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP), and
// keepwatch_vrrp_group_instances{group,state}: how many of the group's instances on this node are
// in each state (a group split across states is SyncGroupInconsistent's case). Groups come from
// the FIFO, the log, the notify hook and the data dump (keepalived has no group object on D-Bus);
// the membership from keepalived.conf. A dead keepalived shows its groups as STOP, never a stale MASTER.
import { Gauge, type Registry } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import { VRRP_STATE_CODE, type VrrpState } from '../agent/state/types';
import type { Collector } from './collector';

export function groupsCollector(store: NodeStore): Collector {
  let state: Gauge;
  let members: Gauge;
  return {
    name: 'groups',
    revision: () => store.state.revision,
    register(registry: Registry) {
      state = new Gauge({
        name: 'keepwatch_vrrp_group_state',
        help: 'State of a vrrp_sync_group on this node (keepalived codes: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP).',
        labelNames: ['group'],
        registers: [registry],
      });
      members = new Gauge({
        name: 'keepwatch_vrrp_group_instances',
        help: 'Instances of a vrrp_sync_group on this node, by their state.',
        labelNames: ['group', 'state'],
        registers: [registry],
      });
    },
    update() {
      const s = store.state;
      state.reset();
      members.reset();
      const names = new Set(Object.keys(s.groups));
      const byGroup = new Map<string, Map<VrrpState, number>>();
      for (const inst of Object.values(s.instances)) {
        if (!inst.syncGroup) continue;
        names.add(inst.syncGroup);
        const m = byGroup.get(inst.syncGroup) ?? new Map<VrrpState, number>();
        m.set(inst.state, (m.get(inst.state) ?? 0) + 1);
        byGroup.set(inst.syncGroup, m);
      }
      for (const group of names) {
        const g = s.groups[group];
        if (!s.keepalived.up) state.set({ group }, VRRP_STATE_CODE.STOP);
        else if (g && g.state !== 'UNKNOWN') state.set({ group }, VRRP_STATE_CODE[g.state]);
        for (const [st, n] of byGroup.get(group) ?? []) members.set({ group, state: st }, n);
      }
    },
  };
}
