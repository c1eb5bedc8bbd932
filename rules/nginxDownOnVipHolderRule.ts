// NginxDownOnVipHolder (critical): the node that holds the VIP (or is MASTER, where no VIP probe
// runs) has nginx down or unhealthy while keepalived keeps the VIP there: no track script, or a
// broken one. The failover that should have happened silently did not.
// Clients of the VIP get nothing from the first second, so it fires as soon as nginx is known
// down, not after rules.condition_for: at once when the master process is gone (the process probe
// already waited out a restart's gap), and after NGINX_HEALTH_FAILURES_DOWN failed health
// requests in a row. Other failures (stub_status alone, one failed request) must last
// condition_for. With a track script the failover follows within seconds: this alert is then the
// cause of that incident, and resolves once the VIP has left the node; while its VRID flaps it is
// a turn of the flapping (folded like Failover) unless it outlasts condition_for.
// Cold standby: a new MASTER whose nginx has not served since it took over is
// NginxNotStartedOnTakeover's case, not this one (one page for one problem).
import { nginxServing } from '../agent/state/cluster';
import { NGINX_HEALTH_FAILURES_DOWN, type NodeState } from '../agent/state/types';
import { NginxLastUp } from './nginxHealthMemory';
import { fmtTime } from '../agent/format';
import { describeVrid, vridLabels } from './format';
import { due, PendingSince } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

interface Memory {
  pending: PendingSince;
  lastUp: NginxLastUp;
}

/** Nginx down on a node by its probes, and whether that is sure already (no time to wait out). */
export interface NginxDown {
  reason: string;
  /** The master process is gone, or the health request failed enough times in a row. */
  confirmed: boolean;
  /** When the failing began, where the probes know it. */
  since?: number;
}

export function nginxDown(s: NodeState): NginxDown | undefined {
  const ng = nginxServing(s);
  if (ng.up !== false) return undefined;
  const reason = ng.reason ?? 'nginx down';
  if (s.nginx.process?.up === false) return { reason, confirmed: true };
  const local = s.nginx.health.local;
  if (local && !local.up && (local.failures ?? 0) >= NGINX_HEALTH_FAILURES_DOWN) {
    return { reason, confirmed: true, since: local.failingSince };
  }
  return { reason, confirmed: false, since: local && !local.up ? local.failingSince : undefined };
}

export const nginxDownOnVipHolderRule: Rule = {
  name: 'NginxDownOnVipHolder',
  severity: 'critical',
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
        const ng = nginxDown(s);
        if (!ng) continue;
        // Cold standby: a holder not (yet) seen MASTER is taking over (the VIP is bound before
        // D-Bus says MASTER) or has its VIP left bound (VipLeftBound's case): not this alert either.
        if (settings.nginxStandby === 'cold' && (m.state !== 'MASTER' || !mem.lastUp.servedSince(m.node, m.since))) continue;
        const key = `${v.key}\u0000${m.node}`;
        const since = mem.pending.hold(key, now, ng.since);
        const noTrack = Object.keys(s.scripts).length === 0;
        // While the VRID flaps, nginx dying on the holder is one turn of it as long as the track
        // script moves the VIP away (Flapping has paged that): only one that outlasts condition_for
        // (the track script did not act) is news.
        const turnOfFlapping = !noTrack && ctx.flapping.has(v.key);
        if ((!ng.confirmed || turnOfFlapping) && !due(ctx, since, settings.conditionForMs)) continue;
        const vip = m.vipsBound?.[0] ?? m.vips[0];
        out.push({
          severity: 'critical',
          labels: { ...vridLabels(v, m.iname), node: m.node, ...(vip ? { vip } : {}) },
          startsAt: since,
          annotations: {
            summary: `nginx is down on ${m.node}, which holds the VIP${vip ? ` ${vip}` : ''} of ${describeVrid(v)}: ${ng.reason}`,
            description:
              `Since ${fmtTime(since)} clients of the VIP get no answer from ${m.node}; ` +
              (noTrack
                ? 'keepalived does not fail over (no track script reported by this node: add a vrrp_script that checks nginx to the instance). '
                : 'its track script should move the VIP within seconds: while this alert lasts it has not (check what it tests). ') +
              `Check first: systemctl status nginx and the error log on ${m.node}; nginx -t.`,
          },
        });
      }
    }
    mem.pending.sweep();
    return out;
  },
};
