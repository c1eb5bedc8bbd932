// The cluster view: this node's state merged with what its peers last told us, per VRID. A node
// alone cannot tell a split brain from a healthy master; this view is what the rules and
// GET /api/v1/cluster read. Each node is the authority on itself: a member's state is "according
// to" that node (directly for us, via its peer stream for the others), with the age of the report.
import { isIP } from 'node:net';
import type { InstanceState, NodeState, VrrpState } from './types';

/** What the cluster view needs to know of one peer (the peer directory provides it). */
export interface PeerView {
  /** The name in our config. */
  name: string;
  url?: string;
  /** A complete, valid event or heartbeat within rules.peer_timeout. */
  up: boolean;
  /** When we last heard from it (event or heartbeat), ms since epoch. */
  lastSeenAt?: number;
  /** When its current up/down status began. */
  since?: number;
  /** Its last valid state (kept while it is down: the last thing we know). */
  state?: NodeState;
  /** When that state arrived. */
  receivedAt?: number;
  error?: string;
  /** The last message refused from it (agent/peers/peerAdmission.ts), and how many so far. */
  rejection?: PeerRejection;
}

export interface PeerRejection {
  reason: string;
  error: string;
  at: number;
  count: number;
}

export interface ClusterMember {
  node: string;
  iname: string;
  intf: string;
  vrid: number;
  family: InstanceState['family'];
  state: VrrpState;
  since: number;
  priority?: number;
  effectivePriority?: number;
  nopreempt?: boolean;
  preemptDelayS?: number;
  advertIntervalMs?: number;
  authType?: string;
  syncGroup?: string;
  /** VIPs keepalived manages for this instance on that node. */
  vips: string[];
  /** Those VIPs bound on that node right now (undefined when that node has no VIP probe data). */
  vipsBound?: string[];
  /** True for us, and for a peer that is up: its state is current. */
  fresh: boolean;
  /** According to whom: 'self', or the peer's configured name. */
  via: string;
  /** When this report was made (our now for self, arrival time for a peer). */
  asOf: number;
}

export interface ClusterVrid {
  /** Identity of the virtual router across nodes: "51", "51/IPv6", or "?VI_1" while the VRID is unknown. */
  key: string;
  vrid: number;
  family: InstanceState['family'];
  members: ClusterMember[];
  /** Fresh members in MASTER. */
  masters: string[];
  /** Members that are not fresh (peer down) whose last known state was MASTER. */
  staleMasters: string[];
  /** VIP (of any member of this VRID) -> fresh nodes where it is bound right now, under any instance. */
  vipHolders: Record<string, string[]>;
  /** Where fresh members' configs disagree (VIPs, advert interval, auth type). */
  disagreements: Disagreement[];
}

export interface Disagreement {
  field: 'vips' | 'advert_interval' | 'auth_type';
  /** "ka1=1000ms, ka2=2000ms". */
  detail: string;
}

export interface ClusterNode {
  node: string;
  self: boolean;
  /** The peer's configured name (differs from node when the config names it otherwise). */
  peer?: string;
  url?: string;
  up: boolean;
  fresh: boolean;
  lastSeenAt?: number;
  since?: number;
  bootAt?: number;
  revision?: number;
  keepalivedUp?: boolean;
  nginx: NginxServing;
  nginxConfigHash?: string;
  error?: string;
  /** The last message refused from this peer. */
  rejection?: PeerRejection;
  /** The node's full state (not sent by the cluster API: it is large). */
  state?: NodeState;
}

export interface ClusterView {
  at: number;
  self: string;
  nodes: ClusterNode[];
  vrids: ClusterVrid[];
  /** Problems with the peer set itself (a peer that is us, two peers claiming one name). */
  problems: string[];
}

export interface NginxServing {
  /** undefined when no probe has said anything. */
  up?: boolean;
  reason?: string;
  /** When the deciding probe result was taken. */
  at?: number;
}

/** Is nginx serving on a node, by its probes: the process, stub_status and the local health check. */
export function nginxServing(s: NodeState): NginxServing {
  const n = s.nginx;
  if (n.process && !n.process.up) return { up: false, reason: `master process not running${n.process.reason ? `: ${n.process.reason}` : ''}`, at: n.process.at };
  if (n.status && !n.status.up) return { up: false, reason: `stub_status failed${n.status.reason ? `: ${n.status.reason}` : ''}`, at: n.status.at };
  const local = n.health.local;
  if (local && !local.up) return { up: false, reason: `health check failed${local.statusCode ? ` (HTTP ${local.statusCode})` : ''}${local.reason ? `: ${local.reason}` : ''}`, at: local.at };
  const seen = [n.process, n.status, local].filter((x) => x !== undefined);
  if (!seen.length) return {};
  return { up: true, at: Math.max(...seen.map((x) => x!.at)) };
}

/** Key of a virtual router across nodes. VRIDs are per address family (VRRPv3 IPv6 has its own space). */
export function vridKey(inst: Pick<InstanceState, 'vrid' | 'family' | 'iname'>): string {
  if (!inst.vrid) return `?${inst.iname}`;
  return inst.family === 'IPv6' ? `${inst.vrid}/IPv6` : String(inst.vrid);
}

/** VIPs of an instance bound on a node, from its VIP probe; undefined when the node has no probe data for it. */
export function vipsBoundOf(s: NodeState, iname: string): string[] | undefined {
  const mine = Object.values(s.vips).filter((v) => v.iname === iname);
  if (!mine.length) return undefined;
  return mine.filter((v) => v.intf !== null).map((v) => v.vip);
}

function memberOf(s: NodeState, inst: InstanceState, fresh: boolean, via: string, asOf: number): ClusterMember {
  return {
    node: s.node,
    iname: inst.iname,
    intf: inst.intf,
    vrid: inst.vrid,
    family: inst.family,
    state: inst.state,
    since: inst.since,
    priority: inst.priority,
    effectivePriority: inst.effectivePriority,
    nopreempt: inst.nopreempt,
    preemptDelayS: inst.preemptDelayS,
    advertIntervalMs: inst.advertIntervalMs,
    authType: inst.authType,
    syncGroup: inst.syncGroup,
    vips: [...inst.vips],
    vipsBound: vipsBoundOf(s, inst.iname),
    fresh,
    via,
    asOf,
  };
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** Values of a field per node, reported only where members disagree (undefined values are not compared). */
function disagreement(members: ClusterMember[], field: Disagreement['field'], get: (m: ClusterMember) => string | undefined): Disagreement | undefined {
  const vals = members.map((m) => [m.node, get(m)] as const).filter(([, v]) => v !== undefined);
  if (new Set(vals.map(([, v]) => v)).size <= 1) return undefined;
  return { field, detail: vals.map(([n, v]) => `${n}=${v}`).join(', ') };
}

/**
 * Merges our state with the peers' last known states. Peers that are down keep their last state
 * but are not fresh: the rules decide what a stale report is worth.
 */
export function buildClusterView(self: NodeState, peers: PeerView[], now: number): ClusterView {
  const problems: string[] = [];
  const nodes: ClusterNode[] = [
    {
      node: self.node,
      self: true,
      up: true,
      fresh: true,
      lastSeenAt: now,
      bootAt: self.bootAt,
      revision: self.revision,
      keepalivedUp: self.keepalived.up,
      nginx: nginxServing(self),
      nginxConfigHash: self.nginx.config?.hash,
      state: self,
    },
  ];
  const byName = new Map<string, ClusterNode>([[self.node, nodes[0]]]);
  for (const p of peers) {
    const s = p.state;
    if (s && s.node === self.node) {
      problems.push(`peer ${p.name} (${p.url ?? '?'}) reports node name ${s.node}, which is this node: a peer that points at ourselves, or two agents with one node name`);
      continue;
    }
    const name = s?.node ?? p.name;
    const entry: ClusterNode = {
      node: name,
      self: false,
      peer: p.name,
      url: p.url,
      up: p.up,
      fresh: p.up && s !== undefined,
      lastSeenAt: p.lastSeenAt,
      since: p.since,
      bootAt: s?.bootAt,
      revision: s?.revision,
      keepalivedUp: s?.keepalived.up,
      nginx: s ? nginxServing(s) : {},
      nginxConfigHash: s?.nginx.config?.hash,
      error: p.error,
      rejection: p.rejection,
      state: s,
    };
    const dup = byName.get(name);
    if (dup) {
      problems.push(`peers ${dup.peer ?? dup.node} and ${p.name} both report node name ${name}`);
      // Keep the one with current data.
      if (dup.fresh || !entry.fresh) continue;
      nodes.splice(nodes.indexOf(dup), 1);
    }
    // (Zero-config peers are named by address: their node name is learnt, not a mismatch.)
    if (s && s.node !== p.name && !isIP(p.name)) problems.push(`peer ${p.name} reports node name ${s.node} (the config calls it ${p.name})`);
    nodes.push(entry);
    byName.set(name, entry);
  }

  const vrids = new Map<string, ClusterVrid>();
  for (const n of nodes) {
    if (!n.state) continue;
    const asOf = n.self ? now : (peers.find((p) => p.name === n.peer)?.receivedAt ?? 0);
    for (const inst of Object.values(n.state.instances)) {
      const key = vridKey(inst);
      let v = vrids.get(key);
      if (!v) {
        v = { key, vrid: inst.vrid, family: inst.family, members: [], masters: [], staleMasters: [], vipHolders: {}, disagreements: [] };
        vrids.set(key, v);
      }
      const m = memberOf(n.state, inst, n.fresh, n.self ? 'self' : n.peer ?? n.node, asOf);
      v.members.push(m);
      if (m.state === 'MASTER') (m.fresh ? v.masters : v.staleMasters).push(m.node);
    }
  }
  // Where each VIP is bound, whichever instance (or VRID) the node files it under: a VIP on two
  // nodes is two holders even when their keepalived.conf disagree on the VRID.
  const boundOn = new Map<string, string[]>();
  for (const n of nodes) {
    if (!n.fresh || !n.state) continue;
    for (const vs of Object.values(n.state.vips)) {
      if (vs.intf === null) continue;
      const list = boundOn.get(vs.vip) ?? [];
      if (!list.includes(n.node)) list.push(n.node);
      boundOn.set(vs.vip, list);
    }
  }
  for (const v of vrids.values()) {
    const vips = new Set(v.members.flatMap((m) => [...m.vips, ...(m.vipsBound ?? [])]));
    for (const vip of vips) v.vipHolders[vip] = [...(boundOn.get(vip) ?? [])];
    const fresh = v.members.filter((m) => m.fresh);
    if (fresh.length > 1) {
      // Members that do not know their VIPs yet (no source has said) are not compared.
      const withVips = fresh.filter((m) => m.vips.length);
      if (withVips.some((m) => !sameSet(m.vips, withVips[0].vips))) {
        v.disagreements.push({ field: 'vips', detail: withVips.map((m) => `${m.node}=[${[...m.vips].sort().join(' ')}]`).join(', ') });
      }
      const adv = disagreement(fresh, 'advert_interval', (m) => (m.advertIntervalMs === undefined ? undefined : `${m.advertIntervalMs}ms`));
      if (adv) v.disagreements.push(adv);
      const auth = disagreement(fresh, 'auth_type', (m) => m.authType);
      if (auth) v.disagreements.push(auth);
    }
  }
  // Code-unit order, not localeCompare: the same on every node whatever its locale, and no ICU collation data paged in.
  return { at: now, self: self.node, nodes, vrids: [...vrids.values()].sort((a, b) => a.vrid - b.vrid || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), problems };
}

/** The view for the API: without each node's full state. */
export function clusterViewForApi(v: ClusterView): unknown {
  return { ...v, nodes: v.nodes.map(({ state: _state, ...rest }) => rest) };
}
