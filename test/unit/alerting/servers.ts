// Real HTTP receivers on loopback for the alerting tests: a webhook endpoint that dedups by
// idempotency key and checks signatures, and a server playing Slack's incoming webhook.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';

export type Mode = 'ok' | '429' | '500' | '400' | 'hang';

export interface TestServer {
  url: string;
  port: number;
  mode: Mode;
  /** Answer this much later (a slow receiver). */
  delayMs: number;
  requests: Array<{ headers: IncomingMessage['headers']; body: string; at: number; path: string }>;
  /** Stops listening (connections refused) until up() is called. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startServer(handle: (req: IncomingMessage, body: string, res: ServerResponse, s: TestServer) => void, path = '/'): Promise<TestServer> {
  const hanging = new Set<ServerResponse>();
  let server: Server;
  const make = () =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        s.requests.push({ headers: req.headers, body, at: Date.now(), path: req.url ?? '' });
        if (s.mode === 'hang') {
          hanging.add(res);
          return;
        }
        if (s.delayMs > 0) setTimeout(() => handle(req, body, res, s), s.delayMs);
        else handle(req, body, res, s);
      });
    });
  server = make();
  const port = await listen(server);
  const s: TestServer = {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    mode: 'ok',
    delayMs: 0,
    requests: [],
    async down() {
      for (const r of hanging) r.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async up() {
      server = make();
      await listen(server, port);
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return s;
}

/** Slack: 200 `ok`, 429 with Retry-After: 1, 500, or hang. */
export function startSlack(): Promise<TestServer> {
  return startServer(
    (_req, _body, res, s) => {
      if (s.mode === '429') {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' });
        res.end('rate_limited');
      } else if (s.mode === '500') {
        res.writeHead(500);
        res.end('internal_error');
      } else if (s.mode === '400') {
        res.writeHead(400);
        res.end('invalid_payload');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    },
    '/services/T000/B000/XXXXsecretXXXX',
  );
}

export interface WebhookServer extends TestServer {
  /** Payloads accepted once per idempotency key, in arrival order. */
  accepted: Array<Record<string, any>>;
  duplicates: number;
  badSignatures: number;
}

/** A receiver that dedups by Idempotency-Key (as the issue asks receivers to) and checks the HMAC when given a secret. */
export async function startWebhook(secret?: string): Promise<WebhookServer> {
  const seen = new Set<string>();
  let ws!: WebhookServer;
  const s = await startServer((req, body, res, srv) => {
    if (srv.mode === '500') {
      res.writeHead(500);
      res.end('down for maintenance');
      return;
    }
    if (secret) {
      const want = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      if (req.headers['x-keepwatch-signature'] !== want) {
        ws.badSignatures++;
        res.writeHead(401);
        res.end('bad signature');
        return;
      }
    }
    const key = String(req.headers['idempotency-key'] ?? '');
    if (seen.has(key)) ws.duplicates++;
    else {
      seen.add(key);
      ws.accepted.push(JSON.parse(body));
    }
    res.writeHead(200);
    res.end('{}');
  }, '/hook?token=querysecret');
  ws = Object.assign(s, { accepted: [] as Array<Record<string, any>>, duplicates: 0, badSignatures: 0 });
  return ws;
}

export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
