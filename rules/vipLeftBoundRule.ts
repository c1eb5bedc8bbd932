// VipLeftBound (critical): a VIP still bound on a node whose keepalived is dead, or whose instance
// is BACKUP, FAULT or STOP, for rules.condition_for. Nothing will remove it: keepalived killed
// with SIGKILL leaves its addresses behind, and no election touches a node whose keepalived is
// gone. While the MASTER elsewhere holds the same VIP, both answer ARP for it and neighbours send
// its traffic to whichever answered last. Not a split brain (only one keepalived claims MASTER):
// its own page with its own fix, on that node.
import { fmtDuration, fmtTime } from '../agent/format';
import { andList, describeVrid, vridLabels } from './format';
import { due } from './pending';
import type { Condition, Rule, RuleContext } from './rule';
import { claimsVip, leftBound, vipWithPrefix } from './vipClaims';

export const vipLeftBoundRule: Rule = {
  name: 'VipLeftBound',
  severity: 'critical',
  scope: 'node',
  rank: 35,
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const out: Condition[] = [];
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh) continue;
        const s = view.nodes.find((n) => n.node === m.node)?.state;
        if (!s) continue;
        for (const vs of Object.values(s.vips)) {
          if (vs.iname !== m.iname || vs.intf === null) continue;
          const left = leftBound(s, m, vs);
          if (!left || !due(ctx, left.since, settings.conditionForMs)) continue;
          const masters = (v.vipHolders[vs.vip] ?? []).filter((h) => h !== m.node && claimsVip(view, h, vs.vip));
          const isMaster = masters.length ? `${andList(masters)} ${masters.length > 1 ? 'are' : 'is'} MASTER` : '';
          const elsewhere = masters.length
            ? `${isMaster} and ${masters.length > 1 ? 'hold' : 'holds'} it too: both nodes answer ARP for it, and neighbours send its traffic to whichever answered last. `
            : '';
          const fix = `\`ip addr del ${vipWithPrefix(vs)} dev ${vs.intf}\``;
          out.push({
            severity: 'critical',
            labels: { ...vridLabels(v, m.iname), node: m.node, vip: vs.vip },
            startsAt: left.since,
            annotations: {
              summary: `VIP ${vs.vip} (${describeVrid(v)}) is left bound on ${m.node}: ${left.why}${isMaster ? `; ${isMaster}` : ''}`,
              description:
                `${vs.vip} has been bound on ${vs.intf} on ${m.node} since ${fmtTime(vs.since)}, and without a MASTER claim there since ` +
                `${fmtTime(left.since)} (${fmtDuration(now - left.since)}). ${elsewhere}` +
                (masters.length
                  ? `Fix on ${m.node}: ${fix}, or restart keepalived there.`
                  : `No other node holds it as MASTER yet, so this address is what answers for the VIP now. Fix on ${m.node}: restart keepalived there, ` +
                    `or once another node is MASTER, ${fix}.`),
              fix,
            },
          });
        }
      }
    }
    return out;
  },
};
