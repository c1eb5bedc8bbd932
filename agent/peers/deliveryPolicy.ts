// One pager per alert across the agents of a cluster (see agent/alerting/delivery.ts for why).
// The decision is local and needs no election messages: every agent knows which agents it sees
// (itself and the peers whose stream is up) and applies the same rule:
//  - a node-scoped alert (labels.node = N) is delivered by N's agent while N's agent is seen;
//  - a cluster-scoped alert, and a node-scoped one whose node's agent is not seen, is delivered
//    by the agent with the lowest node name among those seen.
// Agents that see each other agree, so exactly one of them pages. When the delivering agent goes
// (peer down past rules.peer_timeout), the next-lowest sees itself lowest and pages what is firing
// and it has not paged itself (the pipeline's next group flush: at most group_interval later). In
// a full partition each side sees only itself and pages: it cannot know the other side did.
// Right after start a configured peer not yet heard from may be up and lower: until it answers or
// peer_timeout passes, this agent pages nothing of the cluster's (at most one group_interval late,
// never twice).
import type { Alert } from '../alerting/alert';
import type { DeliveryPolicy } from '../alerting/delivery';
import type { Clock } from '../context';
import type { PeerDirectory } from './peerDirectory';

export interface ClusterDeliveryPolicyOptions {
  /** This agent's node name. */
  self: string;
  directory: Pick<PeerDirectory, 'list'>;
  clock: Clock;
  /** rules.peer_timeout: a peer silent for this long is down. */
  peerTimeoutMs: number;
  /** When this agent started (peers not yet heard from are given peer_timeout to answer). */
  startedAt: number;
}

export interface SeenAgents {
  /** Node names of this agent and every peer whose stream is up. */
  names: string[];
  /** Peers still in their first peer_timeout, neither up nor known down. */
  pending: string[];
}

export class ClusterDeliveryPolicy implements DeliveryPolicy {
  private peerTimeoutMs: number;

  constructor(private readonly o: ClusterDeliveryPolicyOptions) {
    this.peerTimeoutMs = o.peerTimeoutMs;
  }

  /** rules.peer_timeout of a reloaded config (the policy lives for the agent's life). */
  setPeerTimeout(ms: number): void {
    this.peerTimeoutMs = ms;
  }

  seen(): SeenAgents {
    const now = this.o.clock.now();
    const names = new Set([this.o.self]);
    const pending: string[] = [];
    for (const p of this.o.directory.list()) {
      const node = p.state?.node ?? p.name;
      if (p.up) {
        if (node !== this.o.self) names.add(node);
      } else if (p.lastSeenAt === undefined && now - this.o.startedAt < this.peerTimeoutMs) {
        pending.push(p.name);
      }
    }
    return { names: [...names].sort(), pending };
  }

  /** The agent that pages for cluster-wide alerts as seen from here; undefined while peers are pending. */
  clusterDeliverer(seen = this.seen()): string | undefined {
    return seen.pending.length ? undefined : seen.names[0];
  }

  deliverer(alert: Alert): string | undefined {
    if (alert.scope === undefined) return this.o.self;
    const seen = this.seen();
    const node = alert.labels.node;
    if (alert.scope === 'node' && node !== undefined && seen.names.includes(node)) return node;
    return this.clusterDeliverer(seen);
  }

  shouldDeliver(alert: Alert): boolean {
    return this.deliverer(alert) === this.o.self;
  }
}
