// KeepalivedDown (critical): keepalived's VRRP process is not running on a node the agents can see
// (its own agent says so). That node can neither serve the VIP nor take it over. Per node by
// nature; the VRIDs it leaves are named in the description.
import { fmtDuration, fmtTime } from '../agent/format';
import { due } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

export const keepalivedDownRule: Rule = {
  name: 'KeepalivedDown',
  severity: 'critical',
  rank: 10,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const out: Condition[] = [];
    for (const n of view.nodes) {
      if (!n.fresh || !n.state || n.state.keepalived.up) continue;
      const since = n.state.keepalived.since;
      if (!due(ctx, since, settings.conditionForMs)) continue;
      const vrids = view.vrids.filter((v) => v.members.some((m) => m.node === n.node)).map((v) => v.key);
      const reason = n.state.keepalived.reason;
      out.push({
        severity: 'critical',
        labels: { node: n.node },
        startsAt: since,
        annotations: {
          summary: `keepalived is not running on ${n.node}${reason ? ` (${reason})` : ''}`,
          description:
            `Since ${fmtTime(since)} (${fmtDuration(now - since)}). ${n.node} takes no part in the elections of ` +
            `${vrids.length ? `VRID ${vrids.join(', ')}` : 'its VRIDs'}: it can neither be MASTER nor take over. Check first: systemctl status keepalived and its ` +
            'journal (journalctl -u keepalived) on that node; a config error keeps it from starting (keepalived -t).',
        },
      });
    }
    return out;
  },
};
