// InstanceFault (critical): a VRRP instance is in FAULT on some node: a track script failed, a
// tracked interface is down, or the instance's own interface lost its address. Keepalived uses
// FAULT to move the VIP away on purpose, but a node in FAULT is also a node that cannot serve.
import { fmtDuration, fmtTime } from '../agent/format';
import { describeVrid, vridLabels } from './format';
import { due } from './pending';
import type { Condition, Rule, RuleContext } from './rule';
import { nginxServing } from '../agent/state/cluster';

export const instanceFaultRule: Rule = {
  name: 'InstanceFault',
  severity: 'critical',
  rank: 25,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const out: Condition[] = [];
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh || m.state !== 'FAULT' || !due(ctx, m.since, settings.conditionForMs)) continue;
        const s = view.nodes.find((n) => n.node === m.node)?.state;
        const failing = Object.entries(s?.scripts ?? {}).filter(([, x]) => !x.good).map(([name]) => name);
        const ng = s ? nginxServing(s) : {};
        const why = [
          failing.length ? `failing track script${failing.length > 1 ? 's' : ''}: ${failing.join(', ')}` : '',
          ng.up === false ? `nginx down: ${ng.reason}` : '',
        ].filter(Boolean);
        out.push({
          severity: 'critical',
          labels: { ...vridLabels(v, m.iname), node: m.node },
          startsAt: m.since,
          annotations: {
            summary: `${m.iname} (${describeVrid(v)}) is in FAULT on ${m.node}${why.length ? `: ${why.join('; ')}` : ''}`,
            description:
              `Since ${fmtTime(m.since)} (${fmtDuration(now - m.since)}). Check first the track scripts (keepalived's log names the ` +
              `failing one), tracked interfaces and the address on ${m.intf || 'the instance\'s interface'} on ${m.node}.`,
          },
        });
      }
    }
    return out;
  },
};
