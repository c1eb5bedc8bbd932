// NginxNotStartedOnTakeover (critical, nginx.standby: cold): sites that keep nginx stopped on the
// backup start it from notify_master. After a node becomes MASTER its nginx must serve within
// nginx.takeover_grace, or the takeover failed: the VIP moved to a node that does not answer.
import { fmtDuration, fmtTime } from '../agent/format';
import { describeVrid, vridLabels } from './format';
import type { Condition, Rule, RuleContext } from './rule';
import { nginxServing } from '../agent/state/cluster';
import { NginxLastUp } from './nginxHealthMemory';

interface Memory {
  lastUp: NginxLastUp;
}

export const nginxNotStartedOnTakeoverRule: Rule = {
  name: 'NginxNotStartedOnTakeover',
  severity: 'critical',
  rank: 50,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const mem = ctx.memory<Memory>(() => ({ lastUp: new NginxLastUp() }));
    mem.lastUp.update(view);
    if (settings.nginxStandby !== 'cold') return [];
    const out: Condition[] = [];
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh || m.state !== 'MASTER' || mem.lastUp.servedSince(m.node, m.since)) continue;
        // A takeover from before the node's agent started (read from its history) gets the grace
        // from that start: its probes need the time to say whether nginx serves.
        const bootAt = view.nodes.find((n) => n.node === m.node)?.bootAt;
        const dueAt = Math.max(m.since, bootAt ?? m.since) + settings.takeoverGraceMs;
        if (now < dueAt) {
          ctx.wakeAt(dueAt);
          continue;
        }
        const s = view.nodes.find((n) => n.node === m.node)?.state;
        const ng = s ? nginxServing(s) : {};
        out.push({
          severity: 'critical',
          labels: { ...vridLabels(v, m.iname), node: m.node },
          startsAt: dueAt,
          annotations: {
            summary: `nginx did not start on ${m.node} after it took over ${describeVrid(v)} (${fmtDuration(now - m.since)} ago)`,
            description:
              `${m.node} became MASTER at ${fmtTime(m.since)}; its nginx has not served since${ng.reason ? ` (${ng.reason})` : ''}. ` +
              'Check first the notify_master script that starts nginx (exists, executable, enable_script_security ownership), ' +
              `then nginx -t and the error log on ${m.node}.`,
          },
        });
      }
    }
    return out;
  },
};
