// SyncGroupInconsistent (critical): the instances of one vrrp_sync_group on one node disagree
// (one MASTER, another BACKUP) for longer than a transition takes (rules.sync_group_for): the
// group exists so the outside and inside VIPs move together; split, traffic goes in one node and
// out of another.
import { fmtDuration } from '../agent/format';
import { due, pendingSince } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

export const syncGroupInconsistentRule: Rule = {
  name: 'SyncGroupInconsistent',
  rank: 55,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const pending = pendingSince(ctx);
    const out: Condition[] = [];
    for (const n of view.nodes) {
      if (!n.fresh || !n.state) continue;
      const groups = new Map<string, Array<{ iname: string; state: string; since: number }>>();
      for (const inst of Object.values(n.state.instances)) {
        if (!inst.syncGroup || inst.state === 'UNKNOWN') continue;
        groups.set(inst.syncGroup, [...(groups.get(inst.syncGroup) ?? []), { iname: inst.iname, state: inst.state, since: inst.since }]);
      }
      for (const [group, insts] of groups) {
        if (new Set(insts.map((i) => i.state)).size < 2) continue;
        const since = pending.hold(`${n.node}\u0000${group}`, now, Math.max(...insts.map((i) => i.since)));
        if (!due(ctx, since, settings.syncGroupForMs)) continue;
        out.push({
          severity: 'critical',
          labels: { node: n.node, group },
          startsAt: since,
          annotations: {
            summary: `Sync group ${group} is split on ${n.node}: ${insts.map((i) => `${i.iname} ${i.state}`).join(', ')}`,
            description:
              `For ${fmtDuration(now - since)} the instances of the group are not in one state, so its VIPs are on different nodes. ` +
              'Check that every instance of the group lists the same track scripts/interfaces and that keepalived logs no ' +
              'sync group errors; restarting keepalived on the node re-syncs it.',
          },
        });
      }
    }
    pending.sweep();
    return out;
  },
};
