// Flapping (warning): the MASTER of a VRID keeps changing (rules/flapping.ts says when a VRID
// flaps, and the engine hands it to every rule as RuleContext.flapping). One alert per episode,
// from its first counted change until `quiet` passes without one. While a VRID flaps, Failover
// and PriorityChanged fold into this alert.
import { fmtDuration, fmtTime } from '../agent/format';
import { describeVrid, describeVridLabels, inameOf, vridLabels } from './format';
import type { Condition, Rule, RuleContext } from './rule';

/** What the resolved notice needs of the episode. */
export interface FlappingFacts {
  /** The episode's latest MASTER change (FlappingEpisode.last). */
  lastChangeAt: number;
}

export const flappingRule: Rule<FlappingFacts> = {
  name: 'Flapping',
  severity: 'warning',
  rank: 60,
  resolvedAnnotations(alert, endsAt, _view, facts) {
    const lastAt = facts?.lastChangeAt ?? alert.startsAt;
    return {
      ...alert.annotations,
      summary:
        `${describeVridLabels(alert.labels)} stopped flapping: the MASTER changed ` +
        `${alert.annotations.master_changes ?? 'several'} times from ${fmtTime(alert.startsAt)} to ${fmtTime(lastAt)}, and not since`,
      description: `No MASTER change for ${fmtDuration(endsAt - lastAt)}. ${alert.annotations.description}`,
    };
  },
  evaluate(ctx: RuleContext): Condition<FlappingFacts>[] {
    const { view, settings } = ctx;
    const f = settings.flapping;
    const out: Condition<FlappingFacts>[] = [];
    for (const v of view.vrids) {
      const ep = ctx.flapping.get(v.key);
      if (!ep) continue;
      const count = Math.max(f.changes, ep.changes.length);
      const who = ep.changes.map((c) => c.who);
      const turns = (who.length > 6 ? ['...', ...who.slice(-6)] : who).join(', ');
      out.push({
        severity: 'warning',
        labels: vridLabels(v, inameOf(v, view.self)),
        startsAt: ep.since,
        annotations: {
          summary: `${describeVrid(v)} is flapping: the MASTER changed ${count} times in ${fmtDuration(ep.last - ep.since)} (MASTER in turn: ${turns})`,
          description:
            `Keepalived keeps moving this VRID between nodes (${f.changes} MASTER changes within ${fmtDuration(f.windowMs)} make it flapping; ` +
            `it clears after ${fmtDuration(f.quietMs)} without one). Failovers and priority changes meanwhile are folded into this alert. ` +
            'Check first what keeps changing the election: a track script near its threshold (fall/rise, nginx health), VRRP adverts ' +
            'lost between the nodes (link, firewall, advert_int too short for the network), priorities too close together with ' +
            'preemption (consider nopreempt or preempt_delay).',
          master_changes: String(count),
          last_change: fmtTime(ep.last),
        },
        facts: { lastChangeAt: ep.last },
      });
    }
    return out;
  },
};
