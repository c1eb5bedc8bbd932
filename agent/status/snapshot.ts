// The status snapshot: what the status page, `keepwatch status` and the SSE stream show. One
// cluster view (this node and its peers' last states), the alerts, a merged timeline, and one
// verdict (healthy / degraded / critical) with its reasons, computed here once so the page and the
// CLI never disagree.
import { buildClusterView, type ClusterView, type PeerView } from '../state/cluster';
import type { NodeState, SourceName, VrrpState } from '../state/types';
import type { Alert } from '../alerting/alert';

export type HealthLevel = 'healthy' | 'degraded' | 'critical';

export interface StatusMember {
  node: string;
  iname: string;
  state: VrrpState;
  since: number;
  priority?: number;
  effectivePriority?: number;
  vips: string[];
  /** VIPs bound on that node now; undefined when it has no VIP probe data. */
  vipsBound?: string[];
  /** Current (this node, or a peer that is up). */
  fresh: boolean;
  via: string;
}

export interface StatusVrid {
  key: string;
  vrid: number;
  family: string;
  inames: string[];
  vips: string[];
  members: StatusMember[];
  masters: string[];
  staleMasters: string[];
  vipHolders: Record<string, string[]>;
  disagreements: string[];
}

export interface StatusNode {
  node: string;
  self: boolean;
  url?: string;
  /** For a peer: reachable; for us: true. */
  up: boolean;
  fresh: boolean;
  lastSeenAt?: number;
  keepalivedUp?: boolean;
  nginx: { up?: boolean; reason?: string };
  /** Sources of keepalived state and whether they work (this node only: peers' are theirs to show). */
  sources?: Array<{ source: SourceName; up: boolean; error?: string }>;
  error?: string;
}

export interface TimelineEntry {
  at: number;
  kind: 'transition' | 'alert';
  node?: string;
  /** Transition: "VI_1 BACKUP → MASTER"; alert: "SplitBrain firing". */
  text: string;
  /** Transition cause, or the alert's summary. */
  cause?: string;
  source?: string;
  severity?: string;
  status?: 'firing' | 'resolved';
  to?: VrrpState;
}

export interface StatusSnapshot {
  node: string;
  /** Who this pair is: alerting.external_labels (e.g. cluster, site), as on every alert it sends. */
  externalLabels?: Record<string, string>;
  at: number;
  revision: number;
  health: { level: HealthLevel; reasons: string[] };
  vrids: StatusVrid[];
  nodes: StatusNode[];
  alerts: { active: Alert[] };
  timeline: TimelineEntry[];
  problems: string[];
}

const TIMELINE_SIZE = 100;
const RANK: Record<HealthLevel, number> = { healthy: 0, degraded: 1, critical: 2 };

/** The verdict: critical for critical alerts, split brain or no master; degraded for warnings and lost redundancy. */
export function statusHealth(view: Pick<StatusSnapshot, 'vrids' | 'nodes' | 'problems'>, active: Alert[]): { level: HealthLevel; reasons: string[] } {
  let level: HealthLevel = 'healthy';
  const reasons: string[] = [];
  const add = (l: HealthLevel, why: string) => {
    if (RANK[l] > RANK[level]) level = l;
    reasons.push(why);
  };
  const bySeverity = (s: string) => active.filter((a) => a.status === 'firing' && a.labels.severity === s);
  for (const a of bySeverity('critical')) add('critical', `${a.labels.alertname}: ${a.annotations.summary}`);
  const peersKnown = view.nodes.length > 1;
  // What a firing rule already says is not repeated in our own words.
  const alerted = (name: string, vrid: string) => active.some((a) => a.status === 'firing' && a.labels.alertname === name && a.labels.vrid === vrid);
  for (const v of view.vrids) {
    if (v.masters.length > 1) {
      const why = `split brain: VRID ${v.key} has ${v.masters.length} MASTERs (${v.masters.join(', ')})`;
      if (alerted('SplitBrain', v.key)) level = 'critical';
      else add('critical', why);
    }
    const allDown = v.members.every((m) => !m.fresh || ['FAULT', 'STOP', 'INIT', 'DELETED'].includes(m.state));
    // A lone BACKUP without peers cannot see the MASTER: not evidence of "no master".
    if (v.masters.length === 0 && v.staleMasters.length === 0 && (peersKnown || allDown)) {
      if (alerted('NoMaster', v.key)) level = 'critical';
      else add('critical', `no MASTER for VRID ${v.key}`);
    }
    // One VIP on two nodes: both answer ARP for it (e.g. a SIGKILLed keepalived leaves its VIPs behind).
    for (const [vip, holders] of Object.entries(v.vipHolders)) {
      if (holders.length > 1 && v.masters.length <= 1 && !alerted('SplitBrain', v.key) && !alerted('VipMismatch', v.key) && !alerted('VipLeftBound', v.key)) add('critical', `VIP ${vip} is bound on ${holders.join(' and ')}`);
    }
    for (const d of v.disagreements) add('degraded', `VRID ${v.key}: nodes disagree on ${d}`);
    if (v.staleMasters.length) add('degraded', `VRID ${v.key}: last known MASTER ${v.staleMasters.join(', ')} is not reachable`);
  }
  for (const a of bySeverity('warning')) add('degraded', `${a.labels.alertname}: ${a.annotations.summary}`);
  for (const n of view.nodes) {
    if (!n.up) add('degraded', `peer ${n.node} is not reachable${n.error ? ` (${n.error})` : ''}`);
    else if (n.keepalivedUp === false) add('degraded', `keepalived is down on ${n.node}`);
    if (n.fresh && n.nginx.up === false) add('degraded', `nginx is down on ${n.node}${n.nginx.reason ? `: ${n.nginx.reason}` : ''}`);
  }
  for (const p of view.problems) add('degraded', p);
  return { level, reasons };
}

function vridFromCluster(v: ClusterView['vrids'][number]): StatusVrid {
  return {
    key: v.key,
    vrid: v.vrid,
    family: v.family,
    inames: [...new Set(v.members.map((m) => m.iname))],
    vips: [...new Set(v.members.flatMap((m) => m.vips))],
    members: v.members.map((m) => ({
      node: m.node,
      iname: m.iname,
      state: m.state,
      since: m.since,
      priority: m.priority,
      effectivePriority: m.effectivePriority,
      vips: m.vips,
      vipsBound: m.vipsBound,
      fresh: m.fresh,
      via: m.via,
    })),
    masters: v.masters,
    staleMasters: v.staleMasters,
    vipHolders: v.vipHolders,
    disagreements: v.disagreements.map((d) => `${d.field.replace('_', ' ')} (${d.detail})`),
  };
}

function alertTime(a: Alert): number {
  return a.status === 'resolved' ? a.endsAt ?? a.startsAt : a.startsAt;
}

/**
 * What makes two snapshots different for a viewer: not the time they were taken, the store's
 * revision (probes bump it every second) or when an up peer last sent a heartbeat.
 */
export function snapshotChangeKey(s: StatusSnapshot): string {
  return JSON.stringify({ ...s, at: 0, revision: 0, nodes: s.nodes.map((n) => (n.up ? { ...n, lastSeenAt: 0 } : n)) });
}

/** Builds the snapshot from this node's state, its peers' views and the alert hub's lists. */
export function buildStatusSnapshot(self: NodeState, peers: PeerView[], alerts: { active: Alert[]; recent: Alert[] }, now: number): StatusSnapshot {
  const view = buildClusterView(self, peers, now);
  const vrids = view.vrids.map(vridFromCluster);
  const nodes: StatusNode[] = view.nodes.map((n) => ({
    node: n.node,
    self: n.self,
    url: n.url,
    up: n.up,
    fresh: n.fresh,
    lastSeenAt: n.lastSeenAt,
    keepalivedUp: n.keepalivedUp,
    nginx: { up: n.nginx.up, reason: n.nginx.reason },
    sources: n.self
      ? (Object.entries(self.sources) as Array<[SourceName, NonNullable<NodeState['sources'][SourceName]>]>).map(([source, s]) => ({ source, up: s.up, error: s.error }))
      : undefined,
    error: n.error,
  }));

  const timeline: TimelineEntry[] = [];
  for (const n of view.nodes) {
    for (const t of n.state?.timeline ?? []) {
      // History (read at start, or inferred) says so: it happened while that node's agent was down.
      const past = t.history ? ` (while the agent was down${t.bounds ? ', time bounded' : ''})` : '';
      timeline.push({ at: t.at, kind: 'transition', node: n.node, text: `${t.iname} ${t.from} → ${t.to}${past}`, cause: t.cause, source: t.source, to: t.to });
    }
  }
  for (const a of alerts.recent) {
    timeline.push({
      at: alertTime(a),
      kind: 'alert',
      node: a.labels.node,
      text: `${a.labels.alertname} ${a.status}`,
      cause: a.annotations.summary,
      severity: a.labels.severity,
      status: a.status,
    });
  }
  // Newest first; among equal times, the later recorded first (each list is oldest-first).
  const order = new Map(timeline.map((t, i) => [t, i]));
  timeline.sort((a, b) => b.at - a.at || order.get(b)! - order.get(a)!);
  timeline.length = Math.min(timeline.length, TIMELINE_SIZE);

  const active = [...alerts.active].sort((a, b) => severityRank(b) - severityRank(a) || b.startsAt - a.startsAt);
  const base = { vrids, nodes, problems: view.problems };
  return { node: self.node, at: now, revision: self.revision, health: statusHealth(base, active), ...base, alerts: { active }, timeline };
}

function severityRank(a: Alert): number {
  return a.labels.severity === 'critical' ? 2 : a.labels.severity === 'warning' ? 1 : 0;
}

/** Exit code of `keepwatch status`: 0 healthy, 1 degraded, 2 critical. */
export function exitCodeOf(level: HealthLevel): number {
  return RANK[level];
}
