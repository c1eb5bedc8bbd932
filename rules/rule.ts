// What a detection rule is: a function of the cluster view (and its own memory) to the set of
// conditions that are true right now. The engine turns conditions into alerts: new ones fire,
// vanished ones resolve, so rules never track alert life cycles themselves.
import type { Alert, Severity } from '../agent/alerting/alert';
import type { ClusterMember, ClusterView, ClusterVrid } from '../agent/state/cluster';

export interface RuleSettings {
  noMasterForMs: number;
  splitBrainForMs: number;
  conditionForMs: number;
  eventHoldMs: number;
  driftForMs: number;
  syncGroupForMs: number;
  peerTimeoutMs: number;
  /** Flapping: `changes` MASTER changes within windowMs fire; quietMs without one clears. */
  flapping: { changes: number; windowMs: number; quietMs: number };
  /** nginx.standby: in cold mode a stopped nginx on a BACKUP is normal. */
  nginxStandby: 'hot' | 'cold';
  /** nginx.takeover_grace: a new MASTER's nginx must serve within this time (cold standby). */
  takeoverGraceMs: number;
  /** Configured peer names (NoMaster and RedundancyLost need to know who is missing). */
  peers: string[];
}

export interface Condition {
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
}

export interface RuleContext {
  now: number;
  view: ClusterView;
  settings: RuleSettings;
  /** This rule's memory, kept across evaluations and across reloads of the rules module. */
  memory<T>(init: () => T): T;
  /** VRID keys flapping right now (set by the Flapping rule, which runs first): per-transition
   *  rules fold their alerts into the one Flapping alert for these. */
  flapping: Set<string>;
  /** Counts a per-transition event folded into a Flapping alert. */
  fold(vridKey: string, what: string): void;
  /** Asks for an evaluation at this time (a pending condition that will be due then). */
  wakeAt(at: number): void;
  /** Fingerprints of the alerts firing after the previous evaluation. */
  isFiring(alertname: string, labels: Record<string, string>): boolean;
}

export interface Rule {
  /** The alertname. */
  readonly name: string;
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
   * ConfigDrift 90, PriorityChanged 95.
   */
  readonly rank?: number;
  evaluate(ctx: RuleContext): Condition[];
  /** Annotations for the resolved notice of one of its alerts (e.g. "lasted from X to Y"), with
   *  the cluster view of the evaluation that found it over (to say what holds now). */
  resolvedAnnotations?(alert: Alert, endsAt: number, view: ClusterView): Alert['annotations'];
}

// ------------------------------------------------------------------ helpers shared by rules

/** Labels naming a VRID: vrid, plus family for IPv6 (VRRPv3 VRIDs are a separate space). */
export function vridLabels(v: Pick<ClusterVrid, 'vrid' | 'family' | 'key'>, iname?: string): Record<string, string> {
  const l: Record<string, string> = { vrid: v.vrid ? String(v.vrid) : v.key };
  if (v.family === 'IPv6') l.family = 'IPv6';
  if (iname) l.iname = iname;
  return l;
}

/** The instance name to label a VRID with: ours when we have one, else the first member's. */
export function inameOf(v: ClusterVrid, self: string): string {
  return (v.members.find((m) => m.node === self) ?? v.members[0])?.iname ?? '';
}

export function describeVrid(v: Pick<ClusterVrid, 'vrid' | 'family' | 'key'>): string {
  if (!v.vrid) return `instance ${v.key.slice(1)} (VRID not known yet)`;
  return `VRID ${v.vrid}${v.family === 'IPv6' ? ' (IPv6)' : ''}`;
}

export function fmtTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** How a node is known: "ka2 (via peer stream, 0.3 s old)" or "ka2 (unreachable, last seen ... ago)". */
export function memberNote(m: ClusterMember, now: number): string {
  if (m.via === 'self') return m.node;
  return m.fresh ? m.node : `${m.node} (unreachable; last report ${fmtDuration(now - m.asOf)} old)`;
}

/**
 * Remembers since when each keyed condition has been true, for "true for at least X" rules.
 * Keys not seen in an evaluation are forgotten (the condition went away and restarts if it returns).
 */
export class PendingSince {
  private since = new Map<string, number>();
  private seen = new Set<string>();

  /** Marks key true now (or since `from` when the condition's own start is known); returns its start. */
  hold(key: string, now: number, from?: number): number {
    this.seen.add(key);
    let s = this.since.get(key);
    if (s === undefined) {
      s = from !== undefined ? Math.min(from, now) : now;
      this.since.set(key, s);
    }
    return s;
  }

  /** Call once per evaluation, after all hold()s: drops keys that were not held. */
  sweep(): void {
    for (const k of [...this.since.keys()]) if (!this.seen.has(k)) this.since.delete(k);
    this.seen.clear();
  }
}

/** The memory of a rule that needs nothing but a PendingSince (most "true for at least X" rules). */
export function pendingSince(ctx: RuleContext): PendingSince {
  return ctx.memory<{ pending: PendingSince }>(() => ({ pending: new PendingSince() })).pending;
}

/** A condition that must last forMs: returns true when due, or asks to be woken when it will be. */
export function due(ctx: RuleContext, since: number, forMs: number): boolean {
  if (ctx.now - since >= forMs) return true;
  ctx.wakeAt(since + forMs);
  return false;
}
