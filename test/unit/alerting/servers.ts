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
      // As the README tells receivers: sign `<timestamp>.<body>`.
      const ts = String(req.headers['x-keepwatch-timestamp'] ?? '');
      const want = `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
      if (!/^\d+$/.test(ts) || req.headers['x-keepwatch-signature'] !== want) {
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

/** The tests that wait for these servers import waitFor from here too. */
export { waitFor } from '../../helpers/wait';

export interface SlackApiServer extends TestServer {
  /** Base URL to give as api_url. */
  apiUrl: string;
  /** Answer every post with {ok:false, error: this} (and Retry-After: 3 for ratelimited); undefined: ok. */
  apiError?: string;
  /** chat.postMessage bodies accepted, in order, with the ts given to each. */
  posts: Array<{ body: Record<string, any>; ts: string; auth: string }>;
}

/**
 * Slack's Web API as chat.postMessage sees it: the bot token in Authorization, HTTP 200 with
 * {ok:true, channel, ts} or {ok:false, error}; a channel name is answered with its ID; a reply
 * to an unknown thread_ts is thread_not_found. Modes '500' and '429' answer with those statuses.
 */
export async function startSlackApi(token: string): Promise<SlackApiServer> {
  let api!: SlackApiServer;
  let n = 0;
  const s = await startServer((req, body, res, srv) => {
    const json = (status: number, o: object, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(o));
    };
    if (srv.mode === '500') return json(500, { ok: false, error: 'internal_error' });
    if (srv.mode === '429') return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '2' });
    if (req.url !== '/api/chat.postMessage') return json(404, { ok: false, error: 'unknown_method' });
    const auth = String(req.headers.authorization ?? '');
    if (auth !== `Bearer ${token}`) return json(200, { ok: false, error: 'invalid_auth' });
    if (api.apiError) return json(200, { ok: false, error: api.apiError }, api.apiError === 'ratelimited' ? { 'retry-after': '3' } : {});
    const b = JSON.parse(body) as Record<string, any>;
    if (b.thread_ts && !api.posts.some((p) => p.ts === b.thread_ts)) return json(200, { ok: false, error: 'thread_not_found' });
    const ts = `1764000000.${String(++n).padStart(6, '0')}`;
    api.posts.push({ body: b, ts, auth });
    json(200, { ok: true, channel: String(b.channel).startsWith('#') ? 'C0OPS' : b.channel, ts, message: { text: b.text } });
  }, '/api');
  api = Object.assign(s, { apiUrl: s.url, posts: [] as SlackApiServer['posts'] });
  return api;
}
