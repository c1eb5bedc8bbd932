// VipMismatch (critical): what keepalived says and where the VIP really is disagree on a node: a
// MASTER without its VIP bound (clients get no answer), or a node that is not MASTER still holding
// it (BACKUP/FAULT, or keepalived killed with SIGKILL, which leaves addresses behind: two holders).
// Needs the node's VIP probe data; nodes without it are not judged.
import { describeVrid, due, fmtDuration, vridLabels, type Condition, type Rule, type RuleContext } from './rule';

export const vipMismatchRule: Rule = {
  name: 'VipMismatch',
  rank: 75,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const out: Condition[] = [];
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh) continue;
        const s = view.nodes.find((n) => n.node === m.node)?.state;
        if (!s) continue;
        const keepalivedUp = s.keepalived.up;
        for (const vs of Object.values(s.vips)) {
          if (vs.iname !== m.iname) continue;
          const bound = vs.intf !== null;
          let what: string | undefined;
          if (m.state === 'MASTER' && !bound) what = `${m.node} is MASTER but VIP ${vs.vip} is not bound there`;
          else if (m.state !== 'MASTER' && bound) {
            what = keepalivedUp
              ? `${m.node} is ${m.state} but still holds VIP ${vs.vip} on ${vs.intf}`
              : `keepalived is not running on ${m.node} but VIP ${vs.vip} is still bound on ${vs.intf} (keepalived killed without cleanup?)`;
          }
          if (!what) continue;
          const since = Math.max(m.since, vs.since);
          if (!due(ctx, since, settings.conditionForMs)) continue;
          out.push({
            severity: 'critical',
            labels: { ...vridLabels(v, m.iname), node: m.node, vip: vs.vip },
            startsAt: since,
            annotations: {
              summary: `VIP mismatch on ${describeVrid(v)}: ${what}`,
              description:
                `For ${fmtDuration(now - since)}. ` +
                (m.state === 'MASTER'
                  ? `Check \`ip addr\` on ${m.node}: was the address removed by hand or by another tool (NetworkManager, cloud-init)? Restarting keepalived re-adds it.`
                  : `Check \`ip addr\` on ${m.node}: remove the stale address (ip addr del ${vs.vip}/<prefix> dev ${vs.intf}) so only the MASTER answers for it.`),
            },
          });
        }
      }
    }
    return out;
  },
};
