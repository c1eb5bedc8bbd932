// The peers module: serves this node's state to its peers (snapshot and SSE stream, peer token),
// follows every configured peer's stream into the agent's PeerDirectory, and serves the merged
// cluster view (GET /api/v1/cluster). The directory outlives reloads (w.shared), so a reload that
// changes one peer keeps what is known of the others.
// Peer TLS follows this agent's effective TLS (web.tls_* or the web config file, flag or key): the
// nodes of a pair serve alike, so a peer is asked over https when this agent serves https, and
// shown this agent's certificate when this agent itself refuses clients without one.
// It also keeps the delivery policy (which agent pages for an alert every agent raises, read by the
// alerting pipeline) on the configured peer timeout, and says in the cluster view who pages for
// cluster-wide alerts.
import type { Logger } from 'pino';
import type { Component, ModuleFactory, WiringCtx } from '../module';
import { sendJson } from '../http/server';
import { PeerServer } from '../peers/peerServer';
import { PeerClient, type PeerTarget } from '../peers/peerClient';
import { buildClusterView, clusterViewForApi } from '../state/cluster';
import { peersCollector } from '../../exporters/peers';
import type { Config } from '../config/schema';
import { parseListenAddress } from '../http/server';
import { unicastPeerTargets } from '../peers/autoPeers';
import { requiresClientCert, type TlsConfig } from '../http/tls';

/** This agent's certificate, to show peers that ask for one (they ask when this agent does). */
function clientCertFor(tls: TlsConfig | undefined): PeerTarget['clientCert'] {
  return tls && requiresClientCert(tls) ? { certFile: tls.certFile, keyFile: tls.keyFile } : undefined;
}

export function peerTargets(c: Pick<Config, 'peers' | 'peer_token'>, tls?: TlsConfig): PeerTarget[] {
  const clientCert = clientCertFor(tls);
  return (c.peers ?? []).map((p) => ({
    name: p.name,
    url: p.url,
    // peers[].name is the node name the peer must report (a forged one is refused).
    node: p.name,
    token: p.token ?? c.peer_token,
    caFile: p.ca_file,
    insecureSkipVerify: p.tls_insecure_skip_verify,
    ...(clientCert && p.url.startsWith('https:') ? { clientCert } : {}),
  }));
}

export const peersModule: ModuleFactory = {
  name: 'peers',
  slice: (c, web) => ({ peers: c.peers, peer_token: c.peer_token, timeout: c.rules.peer_timeout, tls: web?.tls, listen: c.web.listen_address, node: c.node, limits: c.peer_limits }),
  build(w) {
    const { peers: directory, delivery, silences } = w.shared;
    const log = w.log.child({ module: 'peers' });
    // The silences ride the peer stream both ways: ours to every peer, every peer's merged into ours.
    const server = new PeerServer({ store: w.store, clock: w.clock, log, silences });
    const targets = peerTargets(w.config, w.web.tls);
    for (const t of targets) {
      if (!t.token) log.warn({ peer: t.name }, 'no peer_token and no token for this peer: its agent will answer 401');
    }
    const l = w.config.peer_limits;
    const client = new PeerClient(targets, {
      directory,
      clock: w.clock,
      log,
      timeoutMs: w.config.rules.peer_timeout,
      self: w.config.node,
      limits: { maxInstances: l.max_instances, maxVips: l.max_vips, maxStateBytes: l.max_state_bytes, maxClockSkewMs: l.max_clock_skew },
      silences,
    });
    directory.retain(targets.map((t) => t.name));
    const components: Component[] = [server, client];
    if (w.config.peers === undefined && w.config.peer_token) {
      if (parseListenAddress(w.config.web.listen_address).port === 0) log.warn('web.listen_address has port 0: no peers from unicast_peer (they would need our port)');
      else components.push(autoPeers(w, client, log));
    }
    delivery.setPeerTimeout(w.config.rules.peer_timeout);
    return {
      components,
      collectors: [peersCollector(directory, w.clock)],
      routes: [
        ...server.routes(),
        {
          method: 'GET',
          path: '/api/v1/cluster',
          auth: 'web',
          handler(_req, res) {
            const view = clusterViewForApi(buildClusterView(w.store.state, directory.views(), w.clock.now())) as Record<string, unknown>;
            const seen = delivery.seen();
            // Who pages for cluster-wide alerts as this agent sees it (null: configured peers not heard from yet).
            sendJson(res, 200, { ...view, delivery: { clusterAlertsBy: delivery.clusterDeliverer(seen) ?? null, agentsSeen: seen.names, pending: seen.pending } });
          },
        },
      ],
    };
  },
};

/** Follows the store's unicast_peer addresses into the client's peer list (no explicit `peers:`). */
function autoPeers(w: WiringCtx, client: PeerClient, log: Logger): Component {
  let off: (() => void) | undefined;
  let current = '[]';
  const port = parseListenAddress(w.config.web.listen_address).port;
  const own = w.web.tls;
  const scheme = own ? 'https' : 'http';
  // A discovered peer has no ca_file of its own: it is trusted as this agent's certificate is (a
  // pair often shares one), or by the client CA this agent already trusts to vouch for its peers.
  const tls = own ? { pinnedCertFile: own.certFile, ...(own.clientCaFile ? { extraCaFiles: [own.clientCaFile] } : {}), clientCert: clientCertFor(own) } : undefined;
  const refresh = () => {
    const targets = unicastPeerTargets(w.store.state, { port, scheme, token: w.config.peer_token, tls });
    const key = JSON.stringify(targets);
    if (key === current) return;
    current = key;
    log.info({ peers: targets.map((t) => t.url) }, 'peers from keepalived unicast_peer (no peers: in the config)');
    client.setPeers(targets);
  };
  return {
    name: 'peer-autodiscovery',
    async start() {
      off = w.store.subscribe((c) => {
        if (c.event.kind === 'instance') refresh();
      });
      refresh();
    },
    async stop() {
      off?.();
    },
  };
}
