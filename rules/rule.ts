// What a detection rule is: a function of the cluster view (and its own memory) to the set of
// conditions that are true right now. The engine turns conditions into alerts: new ones fire,
// vanished ones resolve, so rules never track alert life cycles themselves. Rules do not depend
// on each other or on their order: what one needs of the cluster's history beyond its own memory
// (which VRIDs flap) is an input the engine computes first.
import type { Alert, Severity } from '../agent/alerting/alert';
import type { ClusterView } from '../agent/state/cluster';
import type { FlappingEpisode } from './flapping';

export interface RuleSettings {
  noMasterForMs: number;
  splitBrainForMs: number;
  conditionForMs: number;
  eventHoldMs: number;
  driftForMs: number;
  syncGroupForMs: number;
  peerTimeoutMs: number;
  /** PeerAgentDown: a peer's agent silent this long while its node answers VRRP (rules.peer_agent_dead_after). */
  peerAgentDeadMs: number;
  /** Flapping: `changes` MASTER changes within windowMs fire; quietMs without one clears. */
  flapping: { changes: number; windowMs: number; quietMs: number };
  /** nginx.standby: in cold mode a stopped nginx on a BACKUP is normal. */
  nginxStandby: 'hot' | 'cold';
  /** nginx.takeover_grace: a new MASTER's nginx must serve within this time (cold standby). */
  takeoverGraceMs: number;
  /** Configured peer names (NoMaster and RedundancyLost need to know who is missing). */
  peers: string[];
}

/** Facts: what a rule knows of a condition beyond its texts, typed, for its resolved notice. */
export interface Condition<Facts = unknown> {
  severity: Severity;
  /** Identifying labels besides alertname and severity (vrid, iname, node, vip...). */
  labels: Record<string, string>;
  annotations: { summary: string; description: string } & Record<string, string>;
  /** When the condition really began (e.g. the second MASTER's transition); default: first seen. */
  startsAt?: number;
  /** Set for a condition that is already over when found (a split brain seen only after healing):
   *  the engine publishes it as firing and at once as resolved. */
  endsAt?: number;
  /** An event (Failover): a later startsAt with the same labels is a new occurrence, so the firing
   *  alert is resolved and the new one fires (a second failover in the same direction pages again). */
  event?: boolean;
  /** Handed back to the rule's resolvedAnnotations when the alert resolves, so that the notice
   *  never parses an annotation's text back. Not published. */
  facts?: Facts;
}

export interface RuleContext {
  now: number;
  view: ClusterView;
  settings: RuleSettings;
  /** This rule's memory, kept across evaluations and across reloads of the rules module. */
  memory<T>(init: () => T): T;
  /** The VRIDs flapping in this evaluation, by ClusterVrid.key (rules/flapping.ts, computed by the
   *  engine before any rule runs): Flapping pages them, per-transition rules fold into that page. */
  readonly flapping: ReadonlyMap<string, FlappingEpisode>;
  /** Counts a per-transition event of a flapping VRID folded into its Flapping alert. */
  fold(vridKey: string): void;
  /** Asks for an evaluation at this time (a pending condition that will be due then). */
  wakeAt(at: number): void;
}

export interface Rule<Facts = unknown> {
  /** The alertname. */
  readonly name: string;
  /** The severity of its alerts: with the name, the rule catalogue (keepwatch_alerts exports 0 for
   *  every pair of it while none fires). */
  readonly severity: Severity;
  /**
   * Whose alert it is, for "one pager per alert" (every agent evaluates every rule on the same
   * cluster view, so every agent sees every alert): 'node' for a condition of the node named by
   * the `node` label (delivered by that node's agent while it is up), 'cluster' (default) for a
   * condition of the cluster or of a VRID (delivered by one agent of those that see each other).
   */
  readonly scope?: 'cluster' | 'node';
  /**
   * How close to a root cause its alerts are (lower: more causal), copied to Alert.rank: the
   * lowest-ranked alert of an incident leads it (keepalived dying before the failover it causes).
   * KeepalivedDown 10, NginxDownOnVipHolder 20, InstanceFault 25, SplitBrain 30, VipLeftBound 35,
   * NoMaster 40, RedundancyUnverified 45, NginxNotStartedOnTakeover 50, NginxStartHookMissing 52,
   * SyncGroupInconsistent 55, Flapping 60, Failover 70, VipMismatch 75, RedundancyLost 80,
   * ConfigDrift 90, PriorityChanged 95; PeerAgentDown 15, PeerMessagesRejected 85.
   */
  readonly rank?: number;
  evaluate(ctx: RuleContext): Condition<Facts>[];
  /** Annotations for the resolved notice of one of its alerts (e.g. "lasted from X to Y"), with
   *  the cluster view of the evaluation that found it over (to say what holds now) and the facts
   *  of the last condition that kept it firing. */
  resolvedAnnotations?(alert: Alert, endsAt: number, view: ClusterView, facts: Facts | undefined): Alert['annotations'];
}
