// RedundancyLost (warning): the MASTER still serves, but no other node could take over if it
// failed: each backup has keepalived down, is FAULT/STOP, has nginx down (hot standby), has an
// nginx config that would not start (cold standby: a stopped nginx on a BACKUP is normal there),
// or its agent is unreachable so nobody can vouch for it. Warning: nothing is broken yet.
import type { ClusterMember, ClusterView } from '../agent/state/cluster';
import { describeVrid, due, fmtDuration, pendingSince, vridLabels, type Condition, type Rule, type RuleContext, type RuleSettings } from './rule';

/** Why a member could not take over, or undefined when it could. */
export function cannotTakeOver(view: ClusterView, m: ClusterMember, settings: RuleSettings): string | undefined {
  const n = view.nodes.find((x) => x.node === m.node);
  if (!m.fresh || !n?.fresh) return `${m.node}: agent unreachable, its state unknown`;
  if (n.keepalivedUp === false) return `${m.node}: keepalived not running`;
  if (m.state !== 'BACKUP' && m.state !== 'MASTER') return `${m.node}: instance ${m.iname} is ${m.state}`;
  if (settings.nginxStandby === 'hot' && n.nginx.up === false) return `${m.node}: nginx down (${n.nginx.reason})`;
  if (settings.nginxStandby === 'cold' && n.state?.nginx.config && !n.state.nginx.config.valid) {
    return `${m.node}: nginx configuration invalid, nginx would not start on takeover${n.state.nginx.config.reason ? ` (${n.state.nginx.config.reason})` : ''}`;
  }
  return undefined;
}

export const redundancyLostRule: Rule = {
  name: 'RedundancyLost',
  rank: 80,
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const pending = pendingSince(ctx);
    const out: Condition[] = [];
    for (const v of view.vrids) {
      if (v.masters.length !== 1) continue;
      const master = v.masters[0];
      const mNode = view.nodes.find((n) => n.node === master);
      if (mNode?.nginx.up === false) continue; // not serving: NginxDownOnVipHolder's page
      const reasons = v.members.filter((m) => m.node !== master).map((m) => cannotTakeOver(view, m, settings));
      // Configured peers we never heard from: they may be this VRID's backups; nobody vouches for them.
      const known = new Set(view.nodes.filter((n) => n.state).map((n) => n.peer ?? n.node));
      for (const p of settings.peers) if (!known.has(p)) reasons.push(`${p}: agent never reached`);
      if (!reasons.length || reasons.some((r) => r === undefined)) continue;
      const key = v.key;
      const since = pending.hold(key, now);
      if (!due(ctx, since, settings.conditionForMs)) continue;
      const m = v.members.find((x) => x.node === master)!;
      out.push({
        severity: 'warning',
        labels: { ...vridLabels(v, m.iname), node: master },
        startsAt: since,
        annotations: {
          summary: `No backup can take over ${describeVrid(v)} from ${master}: ${(reasons as string[]).join('; ')}`,
          description:
            `${master} serves, but for ${fmtDuration(now - since)} no other node could take over if it failed. ` +
            'Fix the backup before anything happens to the master: keepalived running, instance BACKUP, nginx healthy ' +
            `(or, in cold standby, nginx -t passing), and its keepwatch agent reachable on the peer port.`,
        },
      });
    }
    pending.sweep();
    return out;
  },
};
