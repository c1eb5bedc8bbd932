// Inhibition, as Alertmanager's: a firing alert matching a rule's source_matchers mutes alerts
// matching its target_matchers when the `equal` labels have the same values on both. One root
// cause, one page: a split brain explains the VIP mismatch it causes, and a dead keepalived
// explains every instance alert of its node.
import type { InhibitRuleConfig } from '../config/schema';
import type { Alert } from './alert';
import { matchesAll, parseMatcher, type Matcher } from './matchers';

/** Used when alerting.inhibit_rules is not set at all (an explicit `[]` turns inhibition off).
 *  VipLeftBound is deliberately no target: a VIP left on a dead or BACKUP node has its own fix,
 *  which neither KeepalivedDown nor a split brain elsewhere explains away. */
export const DEFAULT_INHIBIT_RULES: InhibitRuleConfig[] = [
  { source_matchers: ['alertname="SplitBrain"'], target_matchers: ['alertname="VipMismatch"'], equal: ['vrid'] },
  {
    source_matchers: ['alertname="KeepalivedDown"'],
    target_matchers: ['alertname=~"InstanceFault|VipMismatch|NoMaster|Failover|PriorityChanged"'],
    equal: ['node'],
  },
];

/** An inhibit rule with its matchers parsed. */
interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

export class Inhibitor {
  private readonly rules: InhibitRule[];

  constructor(rules: InhibitRuleConfig[] | undefined) {
    this.rules = (rules ?? DEFAULT_INHIBIT_RULES).map((r) => ({
      source: r.source_matchers.map(parseMatcher),
      target: r.target_matchers.map(parseMatcher),
      equal: r.equal,
    }));
  }

  /**
   * Fingerprints of the firing alerts that mute this one (empty: not inhibited). As in
   * Alertmanager, an alert matching both sides of a rule is never muted by an alert that does
   * too, so two such alerts cannot silence each other.
   */
  inhibitedBy(target: Pick<Alert, 'labels' | 'fingerprint'>, firing: readonly Alert[]): string[] {
    const by = new Set<string>();
    for (const r of this.rules) {
      if (!matchesAll(r.target, target.labels)) continue;
      const twoSided = matchesAll(r.source, target.labels);
      for (const s of firing) {
        if (s.status !== 'firing' || s.fingerprint === target.fingerprint) continue;
        if (!matchesAll(r.source, s.labels)) continue;
        if (twoSided && matchesAll(r.target, s.labels)) continue;
        if (r.equal.every((k) => (s.labels[k] ?? '') === (target.labels[k] ?? ''))) by.add(s.fingerprint);
      }
    }
    return [...by];
  }
}
