// What this agent knows of its peers: each configured peer's last valid state, whether it is up,
// when we last heard from it, and why it failed. The peer client writes it; the cluster view,
// the rules and the peer metrics read it. One directory lives for the agent's life (the daemon's
// record of shared objects holds it), so a reload of the peers module keeps counters and states.
import type { NodeState } from '../state/types';
import type { PeerView } from '../state/cluster';
import type { PeerRejectReason } from './peerAdmission';

/** Why a peer's stream failed; the `reason` label of keepwatch_peer_errors_total. */
export type PeerErrorReason =
  | 'connect' // could not connect (refused, unreachable, DNS, TLS handshake)
  | 'http_status' // answered with a non-200 status (401: wrong token)
  | 'timeout' // no event or heartbeat within rules.peer_timeout
  | 'closed' // the peer ended the stream
  | 'too_large' // an event larger than the cap
  | 'bad_data' // not a valid peer state
  | 'flood' // more events per second than any honest peer sends
  | 'rejected'; // a valid message refused: wrong node name, clock skew, over the caps (see rejected)

export const PEER_ERROR_REASONS: PeerErrorReason[] = ['connect', 'http_status', 'timeout', 'closed', 'too_large', 'bad_data', 'flood', 'rejected'];

export interface PeerStatus extends PeerView {
  connected: boolean;
  /** Successful stream connections so far. */
  connects: number;
  errors: Partial<Record<PeerErrorReason, number>>;
  /** Valid state events received. */
  events: number;
  /** Arrival time minus the peer's sentAt of the last event: network latency plus clock skew. */
  lastDelayMs?: number;
  /** How often the peer's bootAt changed (agent restarts seen). */
  restarts: number;
  /** Messages refused, by reason (keepwatch_peer_rejected_total). */
  rejected?: Partial<Record<PeerRejectReason, number>>;
}

export class PeerDirectory {
  private readonly peers = new Map<string, PeerStatus>();
  private readonly listeners = new Set<(name: string) => void>();

  /** Adds a configured peer (or updates its URL); keeps what is known of it. */
  ensure(name: string, url: string, now: number): PeerStatus {
    let p = this.peers.get(name);
    if (!p) {
      p = { name, url, up: false, since: now, connected: false, connects: 0, errors: {}, events: 0, restarts: 0, rejected: {} };
      this.peers.set(name, p);
      this.emit(name);
    } else if (p.url !== url) {
      p.url = url;
      this.emit(name);
    }
    return p;
  }

  /** Drops peers no longer configured. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const n of [...this.peers.keys()]) {
      if (!keep.has(n)) {
        this.peers.delete(n);
        this.emit(n);
      }
    }
  }

  get(name: string): PeerStatus | undefined {
    return this.peers.get(name);
  }

  list(): PeerStatus[] {
    return [...this.peers.values()];
  }

  /** For buildClusterView. */
  views(): PeerView[] {
    return this.list();
  }

  setUp(name: string, up: boolean, now: number, error?: string): void {
    const p = this.peers.get(name);
    if (!p) return;
    if (p.up !== up) {
      p.up = up;
      p.since = now;
      if (up) p.error = undefined;
    }
    if (error !== undefined) p.error = error;
    this.emit(name);
  }

  setConnected(name: string, connected: boolean): void {
    const p = this.peers.get(name);
    if (!p) return;
    p.connected = connected;
    if (connected) p.connects++;
  }

  /** A heartbeat or any complete event: the peer is alive. */
  seen(name: string, now: number): void {
    const p = this.peers.get(name);
    if (p) p.lastSeenAt = now;
  }

  /** A valid state arrived. */
  setState(name: string, state: NodeState, sentAt: number, now: number): void {
    const p = this.peers.get(name);
    if (!p) return;
    if (p.state && p.state.bootAt !== state.bootAt) p.restarts++;
    p.state = state;
    p.receivedAt = now;
    p.lastSeenAt = now;
    p.lastDelayMs = now - sentAt;
    p.events++;
    this.emit(name);
  }

  countError(name: string, reason: PeerErrorReason, message: string): void {
    const p = this.peers.get(name);
    if (!p) return;
    p.errors[reason] = (p.errors[reason] ?? 0) + 1;
    p.error = `${reason}: ${message}`;
  }

  /** A message refused: counted, and kept as the last rejection (the state is left as it was). */
  reject(name: string, reason: PeerRejectReason, error: string, now: number): void {
    const p = this.peers.get(name);
    if (!p) return;
    p.rejected = { ...p.rejected, [reason]: (p.rejected?.[reason] ?? 0) + 1 };
    p.rejection = { reason, error, at: now, count: (p.rejection?.count ?? 0) + 1 };
    this.emit(name);
  }

  subscribe(fn: (name: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(name: string): void {
    for (const l of this.listeners) {
      try {
        l(name);
      } catch {
        // A listener's failure is its own business; the directory stays consistent.
      }
    }
  }
}
