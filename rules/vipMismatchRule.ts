// VipMismatch (critical): what keepalived says and where the VIP really is disagree on a node, in
// the ways VipLeftBound (a VIP left on a dead keepalived, or on a BACKUP/FAULT/STOP instance)
// and SplitBrain (two MASTER claims) do not cover: a MASTER without its VIP bound (clients get no
// answer), an instance in another state (INIT, a deleted instance) still holding it, or a host
// outside the pair answering for the VIP a MASTER holds while every node of the pair is in sight
// and none holds it (an address conflict). Needs the node's VIP probe data; nodes without it are
// not judged.
import { fmtDuration } from '../agent/format';
import { describeVrid, vridLabels } from './format';
import { due, pendingSince } from './pending';
import type { Condition, Rule, RuleContext } from './rule';
import { claimsMaster, duplicateMeaning, leftBound } from './vipClaims';

export const vipMismatchRule: Rule = {
  name: 'VipMismatch',
  severity: 'critical',
  rank: 75,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const out: Condition[] = [];
    // A conflict is re-probed while it lasts (each answer newer): it counts from the first one.
    const conflicts = pendingSince(ctx);
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh) continue;
        const s = view.nodes.find((n) => n.node === m.node)?.state;
        if (!s) continue;
        const master = claimsMaster(view, m);
        for (const vs of Object.values(s.vips)) {
          if (vs.iname !== m.iname) continue;
          const bound = vs.intf !== null;
          let what: string | undefined;
          let fix: string;
          let since = Math.max(m.since, vs.since);
          if (master && !bound) {
            what = `${m.node} is MASTER but VIP ${vs.vip} is not bound there`;
            fix = `Check \`ip addr\` on ${m.node}: was the address removed by hand or by another tool (NetworkManager, cloud-init)? Restarting keepalived re-adds it.`;
          } else if (!master && bound && s.keepalived.up && !leftBound(s, m, vs)) {
            what = `${m.node}'s ${m.iname} is ${m.state} but VIP ${vs.vip} is bound there on ${vs.intf}`;
            fix = `Check on ${m.node} why keepalived reports ${m.state} (its log, keepalived.conf) while the address is bound; only the MASTER should answer for it.`;
          } else if (master && bound) {
            const d = duplicateMeaning(view, v, m, vs, settings.peers);
            if (d?.kind !== 'foreign') continue;
            what = `another host${d.mac ? ` (MAC ${d.mac})` : ''} answers for VIP ${vs.vip}, which ${m.node} holds as MASTER; no other node of the pair holds it`;
            fix = `An address conflict with a host outside the pair: find the host with that MAC (ip neigh, the switch's MAC table) and remove ${vs.vip} from it.`;
            since = conflicts.hold(`${m.node}\u0000${vs.vip}`, now, Math.max(since, d.at));
          } else continue;
          if (!due(ctx, since, settings.conditionForMs)) continue;
          out.push({
            severity: 'critical',
            labels: { ...vridLabels(v, m.iname), node: m.node, vip: vs.vip },
            startsAt: since,
            annotations: {
              summary: `VIP mismatch on ${describeVrid(v)}: ${what}`,
              description: `For ${fmtDuration(now - since)}. ${fix}`,
            },
          });
        }
      }
    }
    conflicts.sweep();
    return out;
  },
};
