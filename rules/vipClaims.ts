// Who answers for a VIP, and on what authority. A node whose running keepalived has the instance
// MASTER claims the VIP: two such claims for one VRID are a split brain. A node that holds the VIP
// while its keepalived is dead, or while its instance is BACKUP, FAULT or STOP, does not claim it:
// the address was only left bound there (keepalived killed with SIGKILL leaves its addresses
// behind), and no election will remove it. SplitBrain, VipLeftBound and VipMismatch all judge
// VIPs through these functions, so the three never disagree on which node is which.
import { isIP } from 'node:net';
import type { ClusterMember, ClusterNode, ClusterView, ClusterVrid } from '../agent/state/cluster';
import type { NodeState, VipState } from '../agent/state/types';

/**
 * A duplicate-address answer counts only from a probe that ran entirely after the VIP last moved
 * (here and on every node in sight): arping waits up to 2 s, and a probe that straddles a VIP move
 * (a preemption, a flapping pair, an address deleted by hand) hears the previous holder before it
 * lets go. Such an answer would stand as a false SplitBrain until the next probe replaces it.
 */
export const DUPLICATE_SETTLE_MS = 3_000;

export function clusterNode(view: ClusterView, node: string): ClusterNode | undefined {
  return view.nodes.find((n) => n.node === node);
}

export function nodeState(view: ClusterView, node: string): NodeState | undefined {
  return clusterNode(view, node)?.state;
}

/** A member whose running keepalived reports the instance MASTER, seen now (not a stale report). */
export function claimsMaster(view: ClusterView, m: ClusterMember): boolean {
  if (!m.fresh || m.state !== 'MASTER') return false;
  const n = clusterNode(view, m.node);
  return !!n?.fresh && n.keepalivedUp !== false;
}

/** Members of the VRID that claim MASTER now. */
export function claimants(view: ClusterView, v: ClusterVrid): ClusterMember[] {
  return v.members.filter((m) => claimsMaster(view, m));
}

/** Does the node's running keepalived have MASTER an instance (of any VRID) that manages this VIP? */
export function claimsVip(view: ClusterView, node: string, vip: string): boolean {
  const n = clusterNode(view, node);
  const s = n?.state;
  if (!n?.fresh || !s || n.keepalivedUp === false) return false;
  const inames = new Set(Object.values(s.vips).filter((x) => x.vip === vip).map((x) => x.iname));
  return Object.values(s.instances).some((i) => i.state === 'MASTER' && (inames.has(i.iname) || i.vips.includes(vip)));
}

/** The VipState of a VIP bound on a node (under any instance), if it is. */
export function boundVip(s: NodeState | undefined, vip: string): VipState | undefined {
  return Object.values(s?.vips ?? {}).find((x) => x.vip === vip && x.intf !== null);
}

export interface LeftBound {
  /** "keepalived is not running there (process gone)" / "VI_1 is BACKUP there". */
  why: string;
  /** Since when the VIP has had no claim there: the later of keepalived's death (or the instance
   *  leaving MASTER) and the VIP being bound. */
  since: number;
}

/** Why a VIP bound on this member's node is only left there (no MASTER of a live keepalived), or undefined. */
export function leftBound(s: NodeState, m: ClusterMember, vs: VipState): LeftBound | undefined {
  if (vs.intf === null) return undefined;
  if (!s.keepalived.up) {
    const reason = s.keepalived.reason && s.keepalived.reason !== 'not yet seen' ? ` (${s.keepalived.reason})` : '';
    return { why: `keepalived is not running there${reason}`, since: Math.max(s.keepalived.since, vs.since) };
  }
  if (m.state === 'BACKUP' || m.state === 'FAULT' || m.state === 'STOP') return { why: `${m.iname} is ${m.state} there`, since: Math.max(m.since, vs.since) };
  return undefined;
}

/** The prefix part of `ip addr del <vip>/<prefix>`: the real one when the VIP probe saw it. */
export function vipWithPrefix(vs: Pick<VipState, 'vip' | 'prefix'>): string {
  return vs.prefix !== undefined ? `${vs.vip}/${vs.prefix}` : `${vs.vip}/<prefix shown by ip addr>`;
}

/**
 * What a duplicate-address answer for a VIP this member holds means:
 *  - 'left-bound': a node in sight holds the VIP without claiming it (its address was left behind);
 *  - 'claimed': a node in sight holds it as MASTER too (the cluster view shows that split brain);
 *  - 'unseen': no node in sight holds it and some node of the pair is out of sight (or no peer
 *    agent runs at all): the answer is the other side of a split brain we cannot see into;
 *  - 'foreign': every node is in sight and none holds it: a host outside the pair has the address.
 * undefined when the member has no settled duplicate answer for it.
 */
export type DuplicateMeaning =
  | { kind: 'left-bound' | 'claimed'; holders: string[]; at: number; mac?: string }
  | { kind: 'unseen'; unseen: string[]; at: number; mac?: string }
  | { kind: 'foreign'; at: number; mac?: string };

export function duplicateMeaning(view: ClusterView, v: ClusterVrid, m: ClusterMember, vs: VipState, peers: string[]): DuplicateMeaning | undefined {
  const d = vs.duplicate;
  if (vs.intf === null || !d?.duplicate || d.at < vs.since + DUPLICATE_SETTLE_MS) return undefined;
  const others = view.nodes.filter((n) => n.node !== m.node && n.fresh && n.state);
  // The probe must postdate the last move of that VIP on every node in sight too.
  for (const n of others) {
    const theirs = Object.values(n.state!.vips).filter((x) => x.vip === vs.vip);
    if (theirs.some((x) => d.at < x.since + DUPLICATE_SETTLE_MS)) return undefined;
  }
  const holders = others.filter((n) => boundVip(n.state, vs.vip)).map((n) => n.node);
  if (holders.length) {
    const claiming = holders.filter((h) => claimsVip(view, h, vs.vip));
    return { kind: claiming.length ? 'claimed' : 'left-bound', holders: claiming.length ? claiming : holders, at: d.at, mac: d.mac };
  }
  const unseen = new Set(v.members.filter((o) => o.node !== m.node && !o.fresh).map((o) => o.node));
  const known = new Set(view.nodes.filter((n) => n.state).map((n) => n.peer ?? n.node));
  for (const n of view.nodes) if (!n.self && !n.fresh) unseen.add(n.node);
  for (const p of peers) if (!known.has(p)) unseen.add(p);
  const alone = !view.nodes.some((n) => !n.self);
  if (unseen.size || alone) return { kind: 'unseen', unseen: [...unseen].sort(), at: d.at, mac: d.mac };
  return { kind: 'foreign', at: d.at, mac: d.mac };
}

/** The peer's IP address (its configured name or its URL's host), as keepalived names an
 *  advert's sender and a neighbour table lists it; undefined for a host name. */
export function peerAddress(n: ClusterNode): string | undefined {
  if (n.peer && isIP(n.peer)) return n.peer;
  if (!n.url) return undefined;
  try {
    const host = new URL(n.url).hostname.replace(/^\[|\]$/g, '');
    return isIP(host) ? host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The nodes (not this one) whose peer address is one of `addresses`: the neighbour table's
 * addresses for the MAC that answered a duplicate-address probe name the host behind it when it
 * is a peer (the agents talk to each other, so its address and MAC are in the table).
 */
export function nodesAt(view: ClusterView, addresses: string[] | undefined): string[] {
  if (!addresses?.length) return [];
  return view.nodes.filter((n) => !n.self && addresses.includes(peerAddress(n) ?? '')).map((n) => n.node).sort();
}
