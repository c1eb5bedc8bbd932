// Every detection rule, and their settings from the config. The order is the order in which the
// alerts one evaluation finds are published; no rule depends on another (flapping is the engine's
// input to all of them: rules/flapping.ts).
// Event-like alerts (Failover, PriorityChanged) stay firing for rules.event_hold (5 min by
// default) and then resolve: long enough to outlast Alertmanager's default group_interval (5 min)
// and any group_wait, so the event reaches a receiver in its group even when grouped with others
// and shows on the status page while an operator reacts; short enough that the next failover
// (a real new event) fires again instead of being absorbed into an old one. The timeline on the
// status page and the transitions metric keep the history.
import type { Config } from '../agent/config/schema';
import type { Rule, RuleSettings } from './rule';
import { flappingRule } from './flappingRule';
import { splitBrainRule } from './splitBrainRule';
import { noMasterRule } from './noMasterRule';
import { nginxDownOnVipHolderRule } from './nginxDownOnVipHolderRule';
import { nginxNotStartedOnTakeoverRule } from './nginxNotStartedOnTakeoverRule';
import { vipMismatchRule } from './vipMismatchRule';
import { vipLeftBoundRule } from './vipLeftBoundRule';
import { failoverRule } from './failoverRule';
import { redundancyLostRule } from './redundancyLostRule';
import { redundancyUnverifiedRule } from './redundancyUnverifiedRule';
import { keepalivedDownRule } from './keepalivedDownRule';
import { instanceFaultRule } from './instanceFaultRule';
import { priorityChangedRule } from './priorityChangedRule';
import { configDriftRule } from './configDriftRule';
import { syncGroupInconsistentRule } from './syncGroupInconsistentRule';
import { nginxStartHookMissingRule } from './nginxStartHookMissingRule';
import { peerAgentDownRule } from './peerAgentDownRule';
import { peerMessagesRejectedRule } from './peerMessagesRejectedRule';

export const allRules: Rule[] = [
  flappingRule,
  splitBrainRule,
  noMasterRule,
  nginxDownOnVipHolderRule,
  nginxNotStartedOnTakeoverRule,
  vipMismatchRule,
  vipLeftBoundRule,
  failoverRule,
  redundancyLostRule,
  redundancyUnverifiedRule,
  keepalivedDownRule,
  instanceFaultRule,
  priorityChangedRule,
  configDriftRule,
  syncGroupInconsistentRule,
  nginxStartHookMissingRule,
  peerAgentDownRule,
  peerMessagesRejectedRule,
];

export function ruleSettings(c: Pick<Config, 'rules' | 'nginx' | 'peers'>): RuleSettings {
  const r = c.rules;
  return {
    noMasterForMs: r.no_master_for,
    splitBrainForMs: r.split_brain_for,
    conditionForMs: r.condition_for,
    eventHoldMs: r.event_hold,
    driftForMs: r.drift_for,
    syncGroupForMs: r.sync_group_for,
    peerTimeoutMs: r.peer_timeout,
    peerAgentDeadMs: r.peer_agent_dead_after,
    flapping: { changes: r.flapping.changes, windowMs: r.flapping.window, quietMs: r.flapping.quiet },
    nginxStandby: c.nginx.standby,
    takeoverGraceMs: c.nginx.takeover_grace,
    peers: (c.peers ?? []).map((p) => p.name),
  };
}
