// The data of keepwatch, defined once. Sources and probes emit NodeEvents; the store folds them
// into a NodeState; exporters, rules, the HTTP API and peers read NodeState (it is plain JSON so
// it crosses the wire to peer agents unchanged).
import type { FailoverOutage } from './failoverOutage';

/** Keepalived's VRRP states, plus UNKNOWN for "no source has said yet". */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP' | 'DELETED' | 'UNKNOWN';

/** Keepalived's own numeric codes (JSON dump, D-Bus, keepalived_vrrp_state). */
export const VRRP_STATE_CODE: Record<VrrpState, number> = {
  INIT: 0,
  BACKUP: 1,
  MASTER: 2,
  FAULT: 3,
  DELETED: 97,
  STOP: 98,
  UNKNOWN: -1,
};

const CODE_TO_STATE = new Map<number, VrrpState>(
  Object.entries(VRRP_STATE_CODE).map(([k, v]) => [v, k as VrrpState]),
);

/** Numeric code (D-Bus signal, JSON dump) to state; unknown codes map to UNKNOWN. */
export function stateFromCode(code: number): VrrpState {
  return CODE_TO_STATE.get(code) ?? 'UNKNOWN';
}

/** Any spelling keepalived uses ("Master", "MASTER", "master") to state, or undefined. */
export function stateFromName(name: string): VrrpState | undefined {
  const up = name.trim().toUpperCase();
  return up in VRRP_STATE_CODE && up !== 'UNKNOWN' ? (up as VrrpState) : undefined;
}

export type AddressFamily = 'IPv4' | 'IPv6';

/** A VIP as keepalived writes it (data dump `192.0.2.100/24 dev eth0 scope global`, keepalived.conf):
 *  address without prefix, prefix length (keepalived's default when none is written: 32 for IPv4,
 *  128 for IPv6) and device (`dev`; absent: the instance's interface). */
export interface VipEntry {
  address: string;
  prefix: number;
  dev?: string;
}

/** What identifies a VRRP instance on a node. iname is keepalived's instance name (unique per node). */
export interface InstanceKey {
  iname: string;
  intf: string;
  vrid: number;
  family: AddressFamily;
}

/** An instance's election settings, as keepalived.conf and the data dump give them. */
export interface InstanceSettings {
  advertIntervalMs?: number;
  authType?: string;
  nopreempt?: boolean;
  preemptDelayS?: number;
  unicastPeers?: string[];
  syncGroup?: string;
}

/** Where an event came from. Probes and peers are sources too. */
export type SourceName =
  | 'dbus'
  | 'fifo'
  | 'hook'
  | 'log'
  | 'dumps'
  | 'keepalived_conf'
  | 'vip_probe'
  | 'arp_probe'
  | 'nginx_probe'
  | 'process'
  | 'derived';

interface EventBase {
  /** When it happened, ms since epoch (the source's own time where it has one). */
  at: number;
  source: SourceName;
  /** Monotonic per-source sequence where the source has one (hook). */
  seq?: number;
  /** Set when the source read it from a backlog at start: it happened while the agent was down. */
  history?: HistoryMark;
}

/**
 * An event a source read from what piled up while the agent was down: the FIFO's unread lines, the
 * hook spool, the log since the agent's last read position. The store places it in the timeline at
 * its own time and counts it once, but never applies it over a state a live source reports.
 */
export interface HistoryMark {
  /** The source has no time of its own for it (FIFO lines): `at` is the latest it can have
   *  happened; the store bounds it below by the last time the agent knew the instance's state. */
  bounded?: boolean;
}

/** An instance changed (or was seen in) a VRRP state. */
export interface TransitionEvent extends EventBase {
  kind: 'transition';
  iname: string;
  state: VrrpState;
  priority?: number;
  /** Filled in when the source knows it (D-Bus path, JSON dump, keepalived.conf). */
  key?: Partial<InstanceKey>;
  /** Why, when the source knows (e.g. "received higher priority advert"). */
  cause?: string;
}

/** An instance exists, with what the source knows of it (D-Bus enumeration, dumps, keepalived.conf). */
export interface InstanceInfoEvent extends EventBase, InstanceSettings {
  kind: 'instance';
  key: InstanceKey;
  state?: VrrpState;
  priority?: number;
  effectivePriority?: number;
  vips?: string[];
  /** The same VIPs with prefix and device, when the source gives them. */
  vipEntries?: VipEntry[];
  /** virtual_ipaddress_excluded: addresses keepalived adds and removes but leaves out of adverts. */
  excludedVips?: VipEntry[];
}

/** *_PRIORITY lines of the FIFO: the instance's effective priority changed. */
export interface PriorityEvent extends EventBase {
  kind: 'priority';
  iname: string;
  priority: number;
}

/** A vrrp_sync_group changed state. */
export interface GroupEvent extends EventBase {
  kind: 'group';
  group: string;
  state: VrrpState;
  priority?: number;
}

/** Keepalived (the VRRP process) appeared or went away. */
export interface KeepalivedEvent extends EventBase {
  kind: 'keepalived';
  up: boolean;
  pid?: number;
  reason?: string;
}

/** Keepalived's own proof of a split brain or an election fight. */
export interface EvidenceEvent extends EventBase {
  kind: 'evidence';
  iname: string;
  type: 'MASTER_RX_LOWER_PRI' | 'RX_LOWER_PRI_ADVERT' | 'RX_HIGHER_PRI_ADVERT';
  peer?: string;
  peerPriority?: number;
  ourPriority?: number;
}

/** Counters of one instance, from the stats/JSON dumps (names as keepalived_*_total without prefix). */
export interface CountersEvent extends EventBase {
  kind: 'counters';
  iname: string;
  counters: Partial<Record<VrrpCounterName, number>>;
}

export const VRRP_COUNTER_NAMES = [
  'advertisements_received',
  'advertisements_sent',
  'become_master',
  'release_master',
  'packet_length_errors',
  'advertisements_interval_errors',
  'ip_ttl_errors',
  'invalid_type_received',
  'address_list_errors',
  'authentication_invalid',
  'authentication_mismatch',
  'authentication_failure',
  'priority_zero_received',
  'priority_zero_sent',
  'gratuitous_arp_delay',
] as const;
export type VrrpCounterName = (typeof VRRP_COUNTER_NAMES)[number];

/** A vrrp_script's result (dumps, log). */
export interface ScriptEvent extends EventBase {
  kind: 'script';
  name: string;
  /** keepalived_script_status: 0 bad, 1 good. */
  good: boolean;
  /** keepalived_script_state: 0 idle, 1 running, 2 requested termination, 3 forcing termination. */
  state?: number;
}

/** A checker line of the FIFO: `VS [192.0.2.100]:tcp:80 UP` (or RS lines). */
export interface CheckerEvent extends EventBase {
  kind: 'checker';
  /** The virtual server (and real server, when the line names one) as keepalived prints it. */
  target: string;
  up: boolean;
}

/** A source's own health. */
export interface SourceHealthEvent extends EventBase {
  kind: 'source';
  up: boolean;
  error?: string;
}

/** A line/record a source could not parse. Counted, logged once per kind. */
export interface ParseErrorEvent extends EventBase {
  kind: 'parse_error';
  reason: string;
  /** The offending input, truncated; never contains secrets (sources strip them). */
  input?: string;
}

/** The VIP probe: where the expected VIPs are bound on this node. One event per full observation. */
export interface VipObservationEvent extends EventBase {
  kind: 'vip';
  /** Every expected VIP with where it is bound (intf, or null when not on this node), and the
   *  prefix length it is bound with when the probe knows it. */
  vips: Array<{ iname: string; vip: string; intf: string | null; prefix?: number }>;
}

/** Duplicate-address probing of a VIP this node holds. */
export interface VipDuplicateEvent extends EventBase {
  kind: 'vip_duplicate';
  vip: string;
  duplicate: boolean;
  /** The other holder's MAC when one answered. */
  mac?: string;
  /** The addresses this node's neighbour table gives for that MAC (a peer's address names the host). */
  macAddresses?: string[];
  /** Set when probing could not run (e.g. no CAP_NET_RAW). */
  error?: string;
}

/** nginx stub_status, with the nginx exporter's fields. */
export interface NginxStatus {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

export interface NginxStatusEvent extends EventBase {
  kind: 'nginx_status';
  up: boolean;
  status?: NginxStatus;
  reason?: string;
}

export interface NginxHealthEvent extends EventBase {
  kind: 'nginx_health';
  /** 'local' or 'vip:<address>'. */
  target: string;
  up: boolean;
  statusCode?: number;
  durationMs: number;
  reason?: string;
  /** Failed requests to this target in a row, this one included (0 when up). */
  failures?: number;
  /** When the first of those failures was seen. */
  failingSince?: number;
}

/** Failed health requests in a row that make nginx down (one alone may be a blip or a restart). */
export const NGINX_HEALTH_FAILURES_DOWN = 2;

export interface NginxProcessEvent extends EventBase {
  kind: 'nginx_process';
  up: boolean;
  pid?: number;
  reason?: string;
}

/** Cold standby (nginx.standby: cold): the script keepalived runs to start nginx on takeover. */
export interface NginxStartHookEvent extends EventBase {
  kind: 'nginx_start_hook';
  /** nginx.start_hook. */
  path: string;
  /** Exists, is a regular file, and is executable. */
  ok: boolean;
  reason?: string;
  /** Named by a notify / notify_master of keepalived.conf (undefined: keepalived.conf not read). */
  referenced?: boolean;
}

export interface NginxConfigEvent extends EventBase {
  kind: 'nginx_config';
  valid: boolean;
  /** sha256 of `nginx -T`, for drift checks between nodes. */
  hash?: string;
  reason?: string;
}

/** A failover's outage as measured on the new master (agent/state/failoverOutage.ts), new or updated. */
export interface FailoverOutageEvent extends EventBase {
  kind: 'failover_outage';
  outage: FailoverOutage;
}

/** A probe run finished (for keepwatch_probe_duration_seconds and probe health). */
export interface ProbeRunEvent extends EventBase {
  kind: 'probe_run';
  probe: string;
  ok: boolean;
  durationMs: number;
  reason?: string;
  /** CPU time of the agent process during the run (user+system, ms); approximate: other work may overlap. */
  cpuMs?: number;
  /** Runs of this probe skipped so far because the previous one was still going (cumulative). */
  overlapSkips?: number;
}

export type NodeEvent =
  | TransitionEvent
  | InstanceInfoEvent
  | PriorityEvent
  | GroupEvent
  | KeepalivedEvent
  | EvidenceEvent
  | CountersEvent
  | ScriptEvent
  | CheckerEvent
  | SourceHealthEvent
  | ParseErrorEvent
  | VipObservationEvent
  | VipDuplicateEvent
  | NginxStatusEvent
  | NginxHealthEvent
  | NginxProcessEvent
  | NginxConfigEvent
  | NginxStartHookEvent
  | FailoverOutageEvent
  | ProbeRunEvent;

export type NodeEventKind = NodeEvent['kind'];

// ---------------------------------------------------------------- the folded state (plain JSON)

export interface InstanceState extends InstanceKey, InstanceSettings {
  state: VrrpState;
  /** ms since epoch when the current state began. */
  since: number;
  /** Which source first reported the current state, and which confirmed it. */
  source: SourceName;
  confirmedBy: SourceName[];
  priority?: number;
  effectivePriority?: number;
  /** VIPs keepalived manages for this instance (address without prefix). */
  vips: string[];
  /** The same VIPs with prefix and device, when a source gave them. */
  vipEntries?: VipEntry[];
  /** Its virtual_ipaddress_excluded, when a source gave them. */
  excludedVips?: VipEntry[];
  counters: Partial<Record<VrrpCounterName, number>>;
  /** Last evidence of an election fight seen from keepalived itself. */
  lastEvidence?: { type: EvidenceEvent['type']; at: number; peer?: string; count: number };
}

export interface TransitionRecord {
  /** When it happened; for a bounded time, the latest it can have happened. */
  at: number;
  iname: string;
  from: VrrpState;
  to: VrrpState;
  source: SourceName;
  cause?: string;
  /**
   * Not seen live by this agent: 'backlog' (read at start from what a source kept while the agent
   * was down), 'inferred' (no source kept it: the state the agent last persisted differs from the
   * one read at start).
   */
  history?: 'backlog' | 'inferred';
  /** The time is not exact: it happened after `earliest` (unknown when absent), at or before `at`. */
  bounds?: { earliest?: number };
}

/** What the agent persists of each instance, to tell at its next start what changed meanwhile. */
export interface PersistedInstance extends InstanceKey {
  state: VrrpState;
  since: number;
}

/** The agent's last known state, written on every change and while it runs (see agent/state/lastStateFile.ts). */
export interface LastState {
  node: string;
  /** The last time the agent knew these states to be current (ms since epoch). */
  aliveAt: number;
  instances: Record<string, PersistedInstance>;
}

export interface SourceState {
  up: boolean;
  since: number;
  lastEventAt?: number;
  error?: string;
  parseErrors: number;
}

export interface VipState {
  iname: string;
  vip: string;
  /** Interface the VIP is bound to on this node, or null. */
  intf: string | null;
  /** Its prefix length there, when bound and known (for `ip addr del <vip>/<prefix> dev <intf>`). */
  prefix?: number;
  since: number;
  duplicate?: { duplicate: boolean; mac?: string; macAddresses?: string[]; at: number; error?: string };
}

export interface NginxState {
  status?: NginxStatusEvent;
  health: Record<string, NginxHealthEvent>;
  process?: NginxProcessEvent;
  config?: NginxConfigEvent;
  /** Cold standby only: the start hook's last check. */
  startHook?: NginxStartHookEvent;
}

export interface NodeState {
  node: string;
  /** Bumped on every applied event; peers and SSE clients use it to order snapshots. */
  revision: number;
  /** When this agent started (a peer that restarts shows a new value). */
  bootAt: number;
  keepalived: { up: boolean; since: number; pid?: number; reason?: string };
  instances: Record<string, InstanceState>;
  groups: Record<string, { state: VrrpState; since: number; priority?: number }>;
  scripts: Record<string, { good: boolean; state?: number; at: number }>;
  checkers: Record<string, { up: boolean; at: number }>;
  sources: Partial<Record<SourceName, SourceState>>;
  vips: Record<string, VipState>;
  nginx: NginxState;
  probes: Record<string, { ok: boolean; at: number; durationMs: number; reason?: string }>;
  /** Counters since agent start, keyed `${iname}\u0000${from}\u0000${to}`. */
  transitionCounts: Record<string, number>;
  /** Number of changes of where a VIP is bound on this node. */
  vipChanges: number;
  /** This node's last takeovers with their client-visible outage, newest last (absent from older agents). */
  failovers?: FailoverOutage[];
  /** The last transitions, newest last (bounded). */
  timeline: TransitionRecord[];
}
