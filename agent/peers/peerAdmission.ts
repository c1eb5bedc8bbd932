// Whether a peer's well-formed message may be believed. The token only proves the sender is one of
// ours; it does not prove which one, so each peer is bound to the node name it is configured as
// (peers[].name), and a message naming another node is refused: a peer holding the token must not
// report itself as a lower-named node and take over cluster paging (agent/peers/deliveryPolicy.ts).
// A message from the future (beyond the clock-skew bound) is refused: its times would win every
// comparison. A state larger than the caps is refused whole, so an honest-looking peer cannot grow
// this agent's memory with thousands of instances; the last good state is kept.
import type { PeerMessage } from './peerMessage';

/** Why a message was refused; the `reason` label of keepwatch_peer_rejected_total. */
export type PeerRejectReason =
  | 'node_mismatch' // names another node than the peer is configured (or was first seen) as
  | 'clock_skew' // sent from further in the future than the skew bound
  | 'too_many_instances'
  | 'too_many_vips'
  | 'state_too_large'
  | 'bad_silence'; // a silence that is invalid or from the future (refused alone, the rest merge)

export const PEER_REJECT_REASONS: PeerRejectReason[] = ['node_mismatch', 'clock_skew', 'too_many_instances', 'too_many_vips', 'state_too_large', 'bad_silence'];

export interface PeerLimits {
  /** VRRP instances in one state. */
  maxInstances: number;
  /** VIPs in one state (the VIP probe's list, and the instances' lists summed, each). */
  maxVips: number;
  /** Encoded size of one state, which is also what is retained of the peer. */
  maxStateBytes: number;
  /** How far in the future a peer's times may be (clock skew plus delay). */
  maxClockSkewMs: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = { maxInstances: 64, maxVips: 256, maxStateBytes: 256 * 1024, maxClockSkewMs: 5_000 };

export interface PeerIdentity {
  /** The peer's configured name (for messages). */
  peer: string;
  /** The node name it must report (undefined: bound to the first one it reports). */
  node?: string;
  /** This agent's node name: no peer may claim it. */
  self: string;
}

export type Admission = { ok: true } | { ok: false; reason: PeerRejectReason; error: string };

const refuse = (reason: PeerRejectReason, error: string): Admission => ({ ok: false, reason, error });

/** The sender's identity and clock, for any message (state or silences). */
export function admitSender(id: PeerIdentity, node: string, sentAt: number, now: number, limits: PeerLimits): Admission {
  if (node === id.self) return refuse('node_mismatch', `peer ${id.peer} reports node "${node}", which is this agent's own name`);
  if (id.node !== undefined && node !== id.node) return refuse('node_mismatch', `peer ${id.peer} reports node "${node}" but is configured as node "${id.node}"`);
  if (sentAt > now + limits.maxClockSkewMs) return refuse('clock_skew', `peer ${id.peer} sent a message dated ${sentAt - now} ms in the future (max_clock_skew ${limits.maxClockSkewMs} ms)`);
  return { ok: true };
}

/** The latest time a state carries (every one of them is the peer's clock). */
function latestTime(m: PeerMessage): number {
  const s = m.state;
  let t = Math.max(m.sentAt, s.bootAt, s.keepalived.since);
  for (const i of Object.values(s.instances)) t = Math.max(t, i.since, i.lastEvidence?.at ?? -Infinity);
  for (const v of Object.values(s.vips)) t = Math.max(t, v.since);
  for (const e of s.timeline) t = Math.max(t, e.at);
  for (const f of s.failovers ?? []) t = Math.max(t, f.masterAt, f.loss.at);
  return t;
}

/** A whole state message: its sender, then its times, then its size against the caps. */
export function admitState(id: PeerIdentity, m: PeerMessage, bytes: number, now: number, limits: PeerLimits): Admission {
  const sender = admitSender(id, m.state.node, m.sentAt, now, limits);
  if (!sender.ok) return sender;
  if (bytes > limits.maxStateBytes) return refuse('state_too_large', `peer ${id.peer} sent a state of ${bytes} bytes, over max_state_bytes ${limits.maxStateBytes}; its last good state is kept`);
  const instances = Object.keys(m.state.instances).length;
  if (instances > limits.maxInstances) return refuse('too_many_instances', `peer ${id.peer} sent a state with ${instances} instances, over max_instances ${limits.maxInstances}; its last good state is kept`);
  const vips = Math.max(Object.keys(m.state.vips).length, Object.values(m.state.instances).reduce((n, i) => n + i.vips.length, 0));
  if (vips > limits.maxVips) return refuse('too_many_vips', `peer ${id.peer} sent a state with ${vips} VIPs, over max_vips ${limits.maxVips}; its last good state is kept`);
  const latest = latestTime(m);
  if (latest > now + limits.maxClockSkewMs) return refuse('clock_skew', `peer ${id.peer} sent a state with times ${latest - now} ms in the future (max_clock_skew ${limits.maxClockSkewMs} ms)`);
  return { ok: true };
}
