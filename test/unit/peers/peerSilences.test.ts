// Silences over the real peer stream on loopback: two agents (HTTP server, peer server, peer client,
// each its own silences file) that follow each other. A silence added, changed or expired on one
// reaches the other; one added while the other's agent was down reaches it when it comes back (the
// full set on connect), and what it merged survives its restart. (How fast: bench/, not here.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { HttpServer } from '../../../agent/http/server';
import { NodeStore } from '../../../agent/state/store';
import { Silences } from '../../../agent/alerting/silences';
import { PeerServer } from '../../../agent/peers/peerServer';
import { PeerClient } from '../../../agent/peers/peerClient';
import { PeerDirectory } from '../../../agent/peers/peerDirectory';
import { waitFor } from '../../helpers/wait';

const TOKEN = 'peer-token-0123456789abcdef';
const log = silentLogger();

interface MiniAgent {
  node: string;
  silences: Silences;
  url: string;
  dir: PeerDirectory;
  follow(peer: MiniAgent): Promise<void>;
  stop(): Promise<void>;
}

async function miniAgent(node: string, file: string): Promise<MiniAgent> {
  const silences = new Silences({ file, clock: systemClock, log });
  silences.load();
  const store = new NodeStore(node, systemClock);
  const http = new HttpServer(log);
  const server = new PeerServer({ store, clock: systemClock, log, heartbeatMs: 200, silences });
  http.setRoutes(server.routes());
  http.setAuth({ peerTokens: [TOKEN], apiTokens: [] });
  await http.listen('127.0.0.1:0');
  await server.start();
  const dir = new PeerDirectory();
  let client: PeerClient | undefined;
  return {
    node,
    silences,
    url: `http://127.0.0.1:${http.address()!.port}`,
    dir,
    async follow(peer) {
      client = new PeerClient([{ name: peer.node, node: peer.node, url: peer.url, token: TOKEN }], { directory: dir, clock: systemClock, log, timeoutMs: 1000, backoffInitialMs: 20, backoffMaxMs: 100, self: node, silences });
      await client.start();
    },
    async stop() {
      await client?.stop();
      await server.stop();
      await http.close();
    },
  };
}

const ids = (s: Silences) => s.list().map((x) => `${x.id}:${x.state}:${x.comment}`).sort();

test('a silence added, changed and expired on either agent is the pair\'s; one set after a restart and a reconnect', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-peer-sil-'));
  const a = await miniAgent('ka1', join(dir, 'ka1.json'));
  let b = await miniAgent('ka2', join(dir, 'ka2.json'));
  try {
    await a.follow(b);
    await b.follow(a);
    const id = a.silences.add({ matchers: ['alertname=Failover'], endsAt: Date.now() + 3_600_000, createdBy: 'ops', comment: 'switchover' });
    await waitFor(() => b.silences.silencedBy({ alertname: 'Failover' })[0] === id, { what: 'ka1\'s silence on ka2' });
    // Changed on ka2: back on ka1.
    b.silences.add({ id, matchers: ['alertname=Failover'], endsAt: Date.now() + 7_200_000, createdBy: 'ops', comment: 'longer' });
    await waitFor(() => a.silences.list()[0]?.comment === 'longer', { what: 'ka2\'s change on ka1' });

    // ka2's agent goes; meanwhile a silence is added on ka1 and the first expired. ka2 comes back
    // on its file: it holds what it merged before, and gets the rest in the full set on connect.
    await b.stop();
    const later = a.silences.add({ matchers: ['alertname=SplitBrain'], endsAt: Date.now() + 3_600_000, createdBy: 'ops', comment: 'while ka2 was down' });
    a.silences.expire(id);
    b = await miniAgent('ka2', join(dir, 'ka2.json'));
    expect(b.silences.list().map((x) => [x.id, x.state])).toEqual([[id, 'active']]);
    await b.follow(a);
    await waitFor(() => ids(b.silences).join() === ids(a.silences).join(), { what: 'one set after ka2 reconnects' });
    expect(b.silences.list().find((x) => x.id === id)!.state).toBe('expired');
    expect(b.silences.silencedBy({ alertname: 'SplitBrain' })).toEqual([later]);
    expect(b.dir.get('ka1')!.rejected ?? {}).toEqual({});
  } finally {
    await a.stop();
    await b.stop();
  }
}, 20_000);
