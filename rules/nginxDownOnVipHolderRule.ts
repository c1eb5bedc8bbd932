// NginxDownOnVipHolder (critical): the node that holds the VIP (or is MASTER, where no VIP probe
// runs) has nginx down or unhealthy while keepalived keeps the VIP there: no track script, or a
// broken one. The failover that should have happened silently did not.
// Cold standby: a new MASTER whose nginx has not served since it took over is
// NginxNotStartedOnTakeover's case, not this one (one page for one problem).
import { nginxServing } from '../agent/state/cluster';
import { NginxLastUp } from './nginxHealthMemory';
import { describeVrid, due, fmtDuration, PendingSince, vridLabels, type Condition, type Rule, type RuleContext } from './rule';

interface Memory {
  pending: PendingSince;
  lastUp: NginxLastUp;
}

export const nginxDownOnVipHolderRule: Rule = {
  name: 'NginxDownOnVipHolder',
  rank: 20,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const mem = ctx.memory<Memory>(() => ({ pending: new PendingSince(), lastUp: new NginxLastUp() }));
    mem.lastUp.update(view);
    const out: Condition[] = [];
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh) continue;
        const holds = m.vipsBound ? m.vipsBound.length > 0 : m.state === 'MASTER';
        if (!holds) continue;
        const s = view.nodes.find((n) => n.node === m.node)?.state;
        if (!s) continue;
        const ng = nginxServing(s);
        if (ng.up !== false) continue;
        if (settings.nginxStandby === 'cold' && m.state === 'MASTER' && !mem.lastUp.servedSince(m.node, m.since)) continue;
        const key = `${v.key}\u0000${m.node}`;
        const since = mem.pending.hold(key, now);
        if (!due(ctx, since, settings.conditionForMs)) continue;
        const vip = m.vipsBound?.[0] ?? m.vips[0];
        const noTrack = Object.keys(s.scripts).length === 0;
        out.push({
          severity: 'critical',
          labels: { ...vridLabels(v, m.iname), node: m.node, ...(vip ? { vip } : {}) },
          startsAt: since,
          annotations: {
            summary: `nginx is down on ${m.node}, which holds the VIP${vip ? ` ${vip}` : ''} of ${describeVrid(v)}: ${ng.reason}`,
            description:
              `For ${fmtDuration(now - since)} clients of the VIP get no answer and keepalived does not fail over` +
              `${noTrack ? ' (no track script reported by this node: add a vrrp_script that checks nginx to the instance)' : ' (its track script does not catch this: check what it tests)'}. ` +
              `Check first: systemctl status nginx and the error log on ${m.node}; nginx -t.`,
          },
        });
      }
    }
    mem.pending.sweep();
    return out;
  },
};
