// Fuzzing the agent's HTTP API: random methods, paths (known routes, their prefixes, encoded
// garbage), headers (tokens right and wrong, basic auth garbage, odd content types) and bodies
// against a real in-process Daemon with every default module. Never a 5xx, never a crash (the
// agent answers /healthz afterwards), never a secret of its config in any response.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { isolatedConfigYaml, healthyMasterEvents } from '../../helpers/inProcessAgent';
import { fuzzRuns, fuzzTimeoutMs } from '../../helpers/fuzzRuns';

const PEER_TOKEN = 'peer-SECRET-0123456789abcdef';
const API_TOKEN = 'api-SECRET-0123456789abcdef';
const HMAC = 'hmac-SECRET-0123456789';
const SLACK = 'http://127.0.0.1:9/services/T000/B000/slack-SECRET-path';
const SMTP_PASSWORD = 'smtp-SECRET-password';
const SECRETS = [PEER_TOKEN, API_TOKEN, HMAC, 'slack-SECRET-path', SMTP_PASSWORD];

const RUNS = fuzzRuns();
jest.setTimeout(fuzzTimeoutMs(40, 60_000));

const ROUTES = [
  '/', '/metrics', '/healthz', '/-/reload', '/static/app.js', '/static/style.css', '/static/', '/static/../../etc/passwd',
  '/api/v1/state', '/api/v1/status', '/api/v1/events', '/api/v1/cluster', '/api/v1/rules', '/api/v1/alerts',
  '/api/v1/notifications', '/api/v1/silences', '/api/v1/silences/abc', '/api/v1/silences/', '/api/v1/keepalived/config',
  '/api/v1/interfaces', '/api/v1/peer/state', '/api/v1/peer/stream', '/api/v1/', '/api', '/nope',
  // Bad percent-escapes (a 500 the 10,000-case run once found in the silences route).
  '/api/v1/silences/%', '/api/v1/silences/%E0%A4%A', '/static/%zz', '/%', '/api/v1/state%00',
];

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Percent-encodes what http.request refuses in a path (it would throw before sending). */
function safePath(p: string): string {
  // Byte-wise (a lone surrogate becomes U+FFFD's bytes; encodeURIComponent would throw on it).
  return p.replace(/[^\x21-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

const methodArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'PATCH') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
);
const pathArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ROUTES) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), fc.string({ maxLength: 40 })).map(([r, s]) => r + s) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), fc.webQueryParameters()).map(([r, q]) => `${r}?${q}`) },
  { weight: 1, arbitrary: fc.webPath() },
  { weight: 1, arbitrary: fc.string({ maxLength: 60, unit: 'binary' }).map((s) => `/${s}`) },
).map(safePath);
const authArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(`Bearer ${PEER_TOKEN}`),
  fc.constant(`Bearer ${API_TOKEN}`),
  fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
  fc.string({ maxLength: 60 }),
);
const jsonBodies = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.record({
    matchers: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.constant(['alertname=SplitBrain']), fc.jsonValue({ maxDepth: 2 })),
    duration: fc.oneof(fc.constant('1h'), fc.string({ maxLength: 6 }), fc.integer()),
    endsAt: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 30 }), fc.integer()),
    createdBy: fc.string({ maxLength: 10 }),
    comment: fc.string({ maxLength: 20 }),
    id: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 10 })),
  }).map((o) => JSON.stringify(o)),
);
const bodyArb = fc.oneof(
  fc.constant(undefined),
  jsonBodies.map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);
const reqArb: fc.Arbitrary<Req> = fc.record({
  method: methodArb,
  path: pathArb,
  auth: authArb,
  contentType: fc.oneof(fc.constant(undefined), fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x'), fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''))),
  accept: fc.oneof(fc.constant(undefined), fc.constantFrom('text/event-stream', 'application/json', 'application/openmetrics-text', '*/*')),
  body: bodyArb,
}).map(({ method, path, auth, contentType, accept, body }) => {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth.replace(/[^\x20-\x7e]/g, '');
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (accept !== undefined) headers.accept = accept;
  return { method, path, headers, body };
});

function send(port: number, r: Req): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) }, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        chunks.push(c);
        // An event stream never ends: the first snapshot is enough to check.
        if (size > 256 * 1024 || (res.headers['content-type'] ?? '').includes('event-stream')) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: JSON.stringify(res.headers) });
      // HEAD has no body; on the event stream the server keeps the connection open (as for GET).
      if (r.method === 'HEAD') {
        done();
        res.destroy();
      }
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${r.method} ${r.path}`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

describe('fuzz: the HTTP API', () => {
  let dir: string;
  let daemon: Daemon;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-fuzz-http-'));
    const base = isolatedConfigYaml(dir).replace(
      'alerting:\n',
      [
        'alerting:',
        `  api_token: ${API_TOKEN}`,
        '  route: {receiver: hook}',
        '  receivers:',
        `    - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook", hmac_secret: ${HMAC}}`,
        `    - {name: slack, type: slack, webhook_url: "${SLACK}"}`,
        `    - {name: mail, type: email, to: [ops@example.org], from: kw@example.org, smarthost: "127.0.0.1:9", auth_username: kw, auth_password: ${SMTP_PASSWORD}}`,
        '',
      ].join('\n'),
    );
    const configFile = join(dir, 'keepwatch.yml');
    writeFileSync(configFile, `${base}peer_token: ${PEER_TOKEN}\npeers: [{name: ka2, url: "http://127.0.0.1:9/"}]\n`);
    daemon = new Daemon({ configFile, log: silentLogger(), env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/no-bus.sock` } });
    await daemon.start();
    port = daemon.http.address()!.port;
    for (const ev of healthyMasterEvents(Date.now())) daemon.hubs.store.apply(ev);
  });

  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('random requests: no 5xx, no secret in any answer, the agent stays up', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(reqArb, async (r) => {
        const res = await send(port, r);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        if (res.status >= 500) throw new Error(`${r.method} ${r.path} -> ${res.status}: ${res.body.slice(0, 300)}`);
        for (const s of SECRETS) {
          if (res.body.includes(s) || res.headers.includes(s)) throw new Error(`${r.method} ${r.path} answered a secret (${s.slice(0, 8)}...)`);
        }
      }),
      { numRuns: RUNS },
    );
    const health = await send(port, { method: 'GET', path: '/healthz', headers: {} });
    expect(health.status).toBe(200);
    // The run must have reached the handlers, not only the 404 and 401 paths.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect((seen.get(400) ?? 0) + (seen.get(404) ?? 0) + (seen.get(405) ?? 0)).toBeGreaterThan(0);
  });

  test('bad percent-escapes in every route, with every token and method: a 4xx, never a 5xx', async () => {
    const bad = ['%', '%zz', '%E0%A4%A', '%00', '%2F..%2F'];
    for (const route of ROUTES.filter((r) => !r.includes('%'))) {
      for (const b of bad) {
        for (const method of ['GET', 'DELETE', 'POST']) {
          for (const auth of [undefined, `Bearer ${PEER_TOKEN}`, `Bearer ${API_TOKEN}`]) {
            const res = await send(port, { method, path: `${route}${route.endsWith('/') ? '' : '/'}${b}`, headers: auth ? { authorization: auth } : {} });
            if (res.status >= 500) throw new Error(`${method} ${route}/${b} -> ${res.status}: ${res.body.slice(0, 200)}`);
          }
        }
      }
    }
  });

  test('the secret-bearing endpoints, asked with every token, show no secret', async () => {
    for (const path of ['/api/v1/keepalived/config', '/api/v1/notifications', '/api/v1/status', '/api/v1/state', '/api/v1/peer/state', '/metrics', '/api/v1/silences', '/api/v1/alerts', '/api/v1/cluster']) {
      for (const auth of [undefined, `Bearer ${PEER_TOKEN}`, `Bearer ${API_TOKEN}`]) {
        const res = await send(port, { method: 'GET', path, headers: auth ? { authorization: auth } : {} });
        expect(res.status).toBeLessThan(500);
        for (const s of SECRETS) expect(res.body).not.toContain(s);
      }
    }
  });
});
