// NoMaster (critical): no node is MASTER for a VRID for longer than rules.no_master_for: nobody
// answers for the VIP. Only judged when the view can know it: a member in BACKUP means keepalived
// there still hears some master's adverts (or will take over within 3 adverts), and a member out
// of sight whose last state was MASTER may still be one; either makes "no master" unknowable.
import { fmtDuration } from '../agent/format';
import { describeVrid, vridLabels, inameOf } from './format';
import { lasting } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

export const noMasterRule: Rule = {
  name: 'NoMaster',
  severity: 'critical',
  rank: 40,
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const masterless = view.vrids
      .filter((v) => v.members.length && !v.members.some((m) => m.state === 'MASTER' || m.state === 'BACKUP'))
      // Since the last one left MASTER (or was first seen so), not since we first looked.
      .map((v) => ({ key: v.key, from: Math.max(...v.members.map((m) => m.since)), v }));
    return lasting(ctx, settings.noMasterForMs, masterless).map(({ v, since }) => {
      const states = v.members.map((m) => `${m.node} ${m.state}${m.fresh ? '' : ' (last known, unreachable)'}`).join(', ');
      return {
        severity: 'critical',
        labels: vridLabels(v, inameOf(v, view.self)),
        startsAt: since,
        annotations: {
          summary: `No MASTER for ${describeVrid(v)} for ${fmtDuration(now - since)}: ${states}`,
          description:
            'Nobody answers for the VIP. Check first why each node cannot become MASTER: keepalived running ' +
            '(systemctl status keepalived), track scripts failing on every node (nginx down everywhere?), the interface ' +
            'up with its address.',
        },
      };
    });
  },
};
