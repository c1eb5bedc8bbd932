// RedundancyUnverified (warning): the MASTER serves, no backup is observed ready, and for at
// least one backup nothing is observed at all: its agent is unreachable (or was never reached).
// Its keepalived and nginx may be fine; what is known is that nobody can vouch for them, so the
// page says exactly that instead of "no backup can take over". Backups observed unable are named
// with what their agents report.
import { fmtDuration } from '../agent/format';
import { lastingNoReadyBackup } from './backupReadiness';
import { andList, describeVrid } from './format';
import type { Condition, Rule, RuleContext } from './rule';

export const redundancyUnverifiedRule: Rule = {
  name: 'RedundancyUnverified',
  severity: 'warning',
  rank: 45,
  evaluate(ctx: RuleContext): Condition[] {
    return lastingNoReadyBackup(ctx, (r) => r.unverified.length > 0).map(({ v, master, unable, unverified, labels, since }) => {
      const nodes = unverified.map((u) => u.node);
      const whose = nodes.length === 1 ? `${nodes[0]}'s readiness` : `the readiness of ${andList(nodes)}`;
      return {
        severity: 'warning',
        labels,
        startsAt: since,
        annotations: {
          summary: `${andList(unverified.map((u) => u.reason))}: ${whose} to take over ${describeVrid(v)} from ${master} is unverified`,
          description:
            `${master} serves. For ${fmtDuration(ctx.now - since)} no agent has reported on ${andList(nodes)}: ${nodes.length === 1 ? 'its' : 'their'} keepalived and nginx ` +
            `may be healthy or not; nothing about ${nodes.length === 1 ? 'it' : 'them'} is observed. ` +
            (unable.length ? `The other backups cannot take over: ${unable.join('; ')}. ` : '') +
            `Check first that the keepwatch agent runs on ${andList(nodes)} (systemctl status keepwatch) and that its peer port is reachable from ${master}.`,
          unverified: nodes.join(','),
        },
      };
    });
  },
};
