// The peers module: serves this node's state to its peers (snapshot and SSE stream, peer token),
// follows every configured peer's stream into the shared PeerDirectory, and serves the merged
// cluster view (GET /api/v1/cluster). The directory outlives reloads (w.shared), so a reload that
// changes one peer keeps what is known of the others.
import type { ModuleFactory } from '../module';
import { sendJson } from '../http/server';
import { PeerServer } from '../peers/peerServer';
import { PeerClient, type PeerTarget } from '../peers/peerClient';
import { sharedPeerDirectory } from '../peers/peerDirectory';
import { buildClusterView, clusterViewForApi } from '../state/cluster';
import { peersCollector } from '../../exporters/peers';
import type { Config } from '../config/schema';

export function peerTargets(c: Pick<Config, 'peers' | 'peer_token'>): PeerTarget[] {
  return (c.peers ?? []).map((p) => ({
    name: p.name,
    url: p.url,
    token: p.token ?? c.peer_token,
    caFile: p.ca_file,
    insecureSkipVerify: p.tls_insecure_skip_verify,
  }));
}

export const peersModule: ModuleFactory = {
  name: 'peers',
  slice: (c) => ({ peers: c.peers, peer_token: c.peer_token, timeout: c.rules.peer_timeout, tls: [c.web.tls_cert_file, c.web.tls_key_file] }),
  build(w) {
    const directory = sharedPeerDirectory(w.shared);
    const log = w.log.child({ module: 'peers' });
    const server = new PeerServer({ store: w.store, clock: w.clock, log });
    const targets = peerTargets(w.config);
    for (const t of targets) {
      if (!t.token) log.warn({ peer: t.name }, 'no peer_token and no token for this peer: its agent will answer 401');
    }
    const client = new PeerClient(targets, { directory, clock: w.clock, log, timeoutMs: w.config.rules.peer_timeout });
    directory.retain(targets.map((t) => t.name));
    return {
      components: [server, client],
      collectors: [peersCollector(directory, w.clock)],
      routes: [
        ...server.routes(),
        {
          method: 'GET',
          path: '/api/v1/cluster',
          auth: 'web',
          handler(_req, res) {
            sendJson(res, 200, clusterViewForApi(buildClusterView(w.store.state, directory.views(), w.clock.now())));
          },
        },
      ],
    };
  },
};
