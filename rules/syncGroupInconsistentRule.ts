// SyncGroupInconsistent (critical): the instances of one vrrp_sync_group on one node disagree
// (one MASTER, another BACKUP) for longer than a transition takes (rules.sync_group_for): the
// group exists so the outside and inside VIPs move together; split, traffic goes in one node and
// out of another.
import { fmtDuration } from '../agent/format';
import { lasting } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

export const syncGroupInconsistentRule: Rule = {
  name: 'SyncGroupInconsistent',
  severity: 'critical',
  rank: 55,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const split: Array<{ key: string; from: number; node: string; group: string; insts: Array<{ iname: string; state: string }> }> = [];
    for (const n of view.nodes) {
      if (!n.fresh || !n.state) continue;
      const groups = new Map<string, Array<{ iname: string; state: string; since: number }>>();
      for (const inst of Object.values(n.state.instances)) {
        if (!inst.syncGroup || inst.state === 'UNKNOWN') continue;
        groups.set(inst.syncGroup, [...(groups.get(inst.syncGroup) ?? []), { iname: inst.iname, state: inst.state, since: inst.since }]);
      }
      for (const [group, insts] of groups) {
        if (new Set(insts.map((i) => i.state)).size < 2) continue;
        split.push({ key: `${n.node}\u0000${group}`, from: Math.max(...insts.map((i) => i.since)), node: n.node, group, insts });
      }
    }
    return lasting(ctx, settings.syncGroupForMs, split).map(({ node, group, insts, since }) => ({
      severity: 'critical',
      labels: { node, group },
      startsAt: since,
      annotations: {
        summary: `Sync group ${group} is split on ${node}: ${insts.map((i) => `${i.iname} ${i.state}`).join(', ')}`,
        description:
          `For ${fmtDuration(now - since)} the instances of the group are not in one state, so its VIPs are on different nodes. ` +
          'Check that every instance of the group lists the same track scripts/interfaces and that keepalived logs no ' +
          'sync group errors; restarting keepalived on the node re-syncs it.',
      },
    }));
  },
};
