// vrrp_sync_group states: keepwatch_vrrp_group_state{group} with keepalived's state codes (as
// keepalived_vrrp_state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP), and
// keepwatch_vrrp_group_instances{group,state}: how many of the group's instances on this node are
// in each state (a group split across states is SyncGroupInconsistent's case). Groups come from
// the FIFO, the log, the notify hook and the data dump (keepalived has no group object on D-Bus);
// the membership from keepalived.conf. A dead keepalived shows its groups as STOP, never a stale MASTER.
// Every group has a keepwatch_vrrp_group_instances series for each of keepalived's states, 0 when
// no instance is in it: a state that appears only when something is wrong (FAULT) is still a
// series to alert on, and a rate or absence rule never starts from a missing one.
import type { NodeStore } from '../agent/state/store';
import { VRRP_STATE_CODE, type NodeState, type VrrpState } from '../agent/state/types';
import type { Collector } from './collector';
import { scrapedGauge } from './scraped';

/** Every group this node knows (from group events or its instances' membership), with its instances counted by state. */
function groupsOf(s: NodeState): Map<string, Map<VrrpState, number>> {
  const out = new Map<string, Map<VrrpState, number>>(Object.keys(s.groups).map((g) => [g, new Map()]));
  for (const inst of Object.values(s.instances)) {
    if (!inst.syncGroup) continue;
    const m = out.get(inst.syncGroup) ?? new Map<VrrpState, number>();
    m.set(inst.state, (m.get(inst.state) ?? 0) + 1);
    out.set(inst.syncGroup, m);
  }
  return out;
}

/** keepalived's states, each with a series per group; other states (UNKNOWN) appear only when counted. */
const GROUP_STATES: readonly VrrpState[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];

export function groupsCollector(store: NodeStore): Collector {
  return {
    name: 'groups',
    revision: () => store.state.revision,
    metrics: [
      scrapedGauge(
        {
          name: 'keepwatch_vrrp_group_state',
          help: 'State of a vrrp_sync_group on this node (keepalived codes: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP).',
          labelNames: ['group'],
        },
        function* () {
          const s = store.state;
          for (const group of groupsOf(s).keys()) {
            const g = s.groups[group];
            if (!s.keepalived.up) yield [{ group }, VRRP_STATE_CODE.STOP];
            else if (g && g.state !== 'UNKNOWN') yield [{ group }, VRRP_STATE_CODE[g.state]];
          }
        },
      ),
      scrapedGauge({ name: 'keepwatch_vrrp_group_instances', help: 'Instances of a vrrp_sync_group on this node, by their state.', labelNames: ['group', 'state'] }, function* () {
        for (const [group, byState] of groupsOf(store.state)) {
          for (const state of GROUP_STATES) yield [{ group, state }, byState.get(state) ?? 0];
          for (const [state, n] of byState) if (!GROUP_STATES.includes(state)) yield [{ group, state }, n];
        }
      }),
    ],
  };
}
