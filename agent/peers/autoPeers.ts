// Zero-config peers: where keepalived.conf lists unicast_peer addresses and keepwatch's config has
// no `peers:` list, the agent offers those addresses as its peers, on its own port, scheme and TLS
// with the shared peer_token. An explicit `peers:` list (even an empty one) wins.
import { networkInterfaces } from 'node:os';
import { isIPv6 } from 'node:net';
import type { NodeState } from '../state/types';
import type { PeerTarget } from './peerClient';

export interface AutoPeerOptions {
  port: number;
  scheme: 'http' | 'https';
  token?: string;
  /** For https: whom to trust and the client certificate to show (wiring/peers.ts: from this agent's own TLS). */
  tls?: Pick<PeerTarget, 'pinnedCertFile' | 'extraCaFiles' | 'clientCert'>;
  /** This node's own addresses (never a peer of itself); default: the interfaces' addresses. */
  localAddresses?: () => Set<string>;
}

export function defaultLocalAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** Peers from the unicast_peer addresses of every instance, named by address, sorted. */
export function unicastPeerTargets(state: Readonly<NodeState>, o: AutoPeerOptions): PeerTarget[] {
  const local = (o.localAddresses ?? defaultLocalAddresses)();
  const addrs = new Set<string>();
  for (const inst of Object.values(state.instances)) for (const a of inst.unicastPeers ?? []) if (!local.has(a)) addrs.add(a);
  return [...addrs].sort().map((a) => ({ name: a, url: `${o.scheme}://${isIPv6(a) ? `[${a}]` : a}:${o.port}`, token: o.token, ...(o.scheme === 'https' ? o.tls : {}) }));
}
