// RedundancyLost (warning): the MASTER still serves, but every other node is observed unable to
// take over if it failed: keepalived down, instance FAULT/STOP, nginx down (hot standby), or an
// nginx config that would not start (cold standby: a stopped nginx on a BACKUP is normal there),
// each as that node's own agent reports it. When a backup's agent is unreachable, its readiness
// is not observed: that is RedundancyUnverified, not this. Warning: nothing is broken yet.
import { fmtDuration } from '../agent/format';
import { describeVrid, vridLabels } from './format';
import { due, pendingSince } from './pending';
import type { Condition, Rule, RuleContext } from './rule';
import { noReadyBackup } from './backupReadiness';

export const redundancyLostRule: Rule = {
  name: 'RedundancyLost',
  rank: 80,
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const pending = pendingSince(ctx);
    const out: Condition[] = [];
    for (const v of view.vrids) {
      const r = noReadyBackup(view, v, settings);
      if (!r || r.unverified.length) continue;
      const since = pending.hold(v.key, now);
      if (!due(ctx, since, settings.conditionForMs)) continue;
      out.push({
        severity: 'warning',
        labels: { ...vridLabels(v, r.iname), node: r.master },
        startsAt: since,
        annotations: {
          summary: `No backup can take over ${describeVrid(v)} from ${r.master}: ${r.unable.join('; ')}`,
          description:
            `${r.master} serves, but for ${fmtDuration(now - since)} no other node could take over if it failed. ` +
            'Fix the backup before anything happens to the master: keepalived running, instance BACKUP, nginx healthy ' +
            '(or, in cold standby, nginx -t passing).',
        },
      });
    }
    pending.sweep();
    return out;
  },
};
