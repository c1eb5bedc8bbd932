// Issue 15, Low: 32 anonymous SSE clients locked out the status page and `status --watch`, and
// concurrent /api/v1/interfaces requests each ran systeminformation's shell calls.
import { request, type IncomingMessage, type ClientRequest } from 'node:http';
import { coreModule } from '../../../agent/wiring/core';
import { pageModuleFactory } from '../../../agent/wiring/page';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';

const API_TOKEN = 'api-token-0123456789abcdef';

interface Stream {
  status: number;
  res: IncomingMessage;
  req: ClientRequest;
  ended: () => boolean;
}

/** Opens /api/v1/events from a given loopback source address (each one is a different client). */
function openStream(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<Stream> {
  const u = new URL('/api/v1/events', url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, localAddress, headers, agent: false }, (res) => {
      let ended = false;
      res.on('data', () => undefined);
      res.on('end', () => (ended = true));
      res.on('close', () => (ended = true));
      resolve({ status: res.statusCode ?? 0, res, req, ended: () => ended });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status streams', () => {
  let agent: InProcessAgent;
  const open: Stream[] = [];
  beforeEach(async () => {
    agent = await startInProcessAgent({
      modules: [coreModule, pageModuleFactory({ maxClients: 2, maxClientsPerAddress: 1, tickMs: 60_000 })],
      alertingYaml: (dir) => `  api_token: ${API_TOKEN}\n  outbox: {path: ${dir}/outbox}\n  silences_file: ${dir}/silences.json`,
    });
  });
  afterEach(async () => {
    for (const s of open.splice(0)) s.req.destroy();
    await agent.stop();
  });
  const keep = (s: Stream) => (open.push(s), s);

  test('a per-address cap, and an authenticated viewer takes the slot of the oldest anonymous stream', async () => {
    const a = keep(await openStream(agent.url, '127.0.0.2'));
    expect(a.status).toBe(200);
    expect(keep(await openStream(agent.url, '127.0.0.2')).status).toBe(429);
    const b = keep(await openStream(agent.url, '127.0.0.3'));
    expect(b.status).toBe(200);
    expect(keep(await openStream(agent.url, '127.0.0.4')).status).toBe(503);
    const op = keep(await openStream(agent.url, '127.0.0.5', { authorization: `Bearer ${API_TOKEN}` }));
    expect(op.status).toBe(200);
    await waitFor(() => a.ended(), { what: 'the oldest anonymous stream to be closed' });
    expect(b.ended()).toBe(false);
  });
});

describe('/api/v1/interfaces', () => {
  // The read itself (in a worker thread, one in flight, cached) is tested in probes/interfaceInfo.test.ts;
  // here: concurrent requests through the real server are all answered from that one read.
  test('concurrent requests share one systeminformation read', async () => {
    const agent = await startInProcessAgent();
    try {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => fetch(`${agent.url}/api/v1/interfaces`).then((r) => r.json() as Promise<{ at: number; interfaces: Array<{ iface: string }> }>)),
      );
      expect(new Set(answers.map((a) => a.at)).size).toBe(1);
      expect(answers[0].interfaces.some((i) => i.iface === 'lo')).toBe(true);
    } finally {
      await agent.stop();
    }
  }, 60_000);
});
