// RedundancyUnverified (warning): the MASTER serves, no backup is observed ready, and for at
// least one backup nothing is observed at all: its agent is unreachable (or was never reached).
// Its keepalived and nginx may be fine; what is known is that nobody can vouch for them, so the
// page says exactly that instead of "no backup can take over". Backups observed unable are named
// with what their agents report.
import { fmtDuration } from '../agent/format';
import { andList, describeVrid, vridLabels } from './format';
import { due, pendingSince } from './pending';
import type { Condition, Rule, RuleContext } from './rule';
import { noReadyBackup } from './backupReadiness';

export const redundancyUnverifiedRule: Rule = {
  name: 'RedundancyUnverified',
  rank: 45,
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const pending = pendingSince(ctx);
    const out: Condition[] = [];
    for (const v of view.vrids) {
      const r = noReadyBackup(view, v, settings);
      if (!r || !r.unverified.length) continue;
      const since = pending.hold(v.key, now);
      if (!due(ctx, since, settings.conditionForMs)) continue;
      const nodes = r.unverified.map((u) => u.node);
      const whose = nodes.length === 1 ? `${nodes[0]}'s readiness` : `the readiness of ${andList(nodes)}`;
      out.push({
        severity: 'warning',
        labels: { ...vridLabels(v, r.iname), node: r.master },
        startsAt: since,
        annotations: {
          summary: `${andList(r.unverified.map((u) => u.reason))}: ${whose} to take over ${describeVrid(v)} from ${r.master} is unverified`,
          description:
            `${r.master} serves. For ${fmtDuration(now - since)} no agent has reported on ${andList(nodes)}: ${nodes.length === 1 ? 'its' : 'their'} keepalived and nginx ` +
            `may be healthy or not; nothing about ${nodes.length === 1 ? 'it' : 'them'} is observed. ` +
            (r.unable.length ? `The other backups cannot take over: ${r.unable.join('; ')}. ` : '') +
            `Check first that the keepwatch agent runs on ${andList(nodes)} (systemctl status keepwatch) and that its peer port is reachable from ${r.master}.`,
          unverified: nodes.join(','),
        },
      });
    }
    pending.sweep();
    return out;
  },
};
