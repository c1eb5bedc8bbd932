// RedundancyLost (warning): the MASTER still serves, but every other node is observed unable to
// take over if it failed: keepalived down, instance FAULT/STOP, nginx down (hot standby), or an
// nginx config that would not start (cold standby: a stopped nginx on a BACKUP is normal there),
// each as that node's own agent reports it. When a backup's agent is unreachable, its readiness
// is not observed: that is RedundancyUnverified, not this. Warning: nothing is broken yet.
import { fmtDuration } from '../agent/format';
import { lastingNoReadyBackup } from './backupReadiness';
import { describeVrid } from './format';
import type { Condition, Rule, RuleContext } from './rule';

export const redundancyLostRule: Rule = {
  name: 'RedundancyLost',
  severity: 'warning',
  rank: 80,
  evaluate(ctx: RuleContext): Condition[] {
    return lastingNoReadyBackup(ctx, (r) => !r.unverified.length).map(({ v, master, unable, labels, since }) => ({
      severity: 'warning',
      labels,
      startsAt: since,
      annotations: {
        summary: `No backup can take over ${describeVrid(v)} from ${master}: ${unable.join('; ')}`,
        description:
          `${master} serves, but for ${fmtDuration(ctx.now - since)} no other node could take over if it failed. ` +
          'Fix the backup before anything happens to the master: keepalived running, instance BACKUP, nginx healthy ' +
          '(or, in cold standby, nginx -t passing).',
      },
    }));
  },
};
