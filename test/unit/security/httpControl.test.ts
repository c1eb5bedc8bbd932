// Issue 15, High 3 and Low: the attacks on the agent's HTTP surface, replayed against a real
// Daemon on loopback. Unauthenticated reload, config text echoed by a rejected reload, paths a
// reverse proxy and the router read differently, missing nosniff, unbounded connections.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import { canonicalTarget } from '../../../agent/http/server';
import { waitFor } from '../../helpers/wait';

const API_TOKEN = 'api-token-0123456789abcdef';
const PEER_TOKEN = 'peer-token-0123456789abcdef';

/** A request with the path sent byte for byte (fetch and URL would normalise it first). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('agent HTTP control surface', () => {
  let dir: string;
  let file: string;
  let daemon: Daemon;
  let port: number;

  async function start(extra: string): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), 'kwsec-'));
    file = join(dir, 'keepwatch.yml');
    writeFileSync(file, `node: ka1\npeer_token: ${PEER_TOKEN}\n${extra}`);
    daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule] });
    await daemon.start();
    port = daemon.http.address()!.port;
  }
  afterEach(() => daemon?.stop());

  test('POST /-/reload is refused unless web.enable_lifecycle, even with no basic auth configured', async () => {
    await start('web: {listen_address: "127.0.0.1:0"}\n');
    const r = await raw(port, 'POST', '/-/reload');
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/web\.enable_lifecycle/);
  });

  test('with enable_lifecycle, reload needs the api token: none and the peer token are refused', async () => {
    await start(`web: {listen_address: "127.0.0.1:0", enable_lifecycle: true}\nalerting: {api_token: ${API_TOKEN}}\n`);
    expect((await raw(port, 'POST', '/-/reload')).status).toBe(401);
    expect((await raw(port, 'POST', '/-/reload', { authorization: `Bearer ${PEER_TOKEN}` })).status).toBe(401);
    expect((await raw(port, 'POST', '/-/reload', { authorization: `Bearer ${API_TOKEN}` })).status).toBe(200);
  });

  test('with enable_lifecycle but neither an api token nor basic auth, nobody can reload', async () => {
    await start('web: {listen_address: "127.0.0.1:0", enable_lifecycle: true}\n');
    expect((await raw(port, 'POST', '/-/reload')).status).toBe(401);
    expect((await raw(port, 'POST', '/-/reload', { authorization: `Bearer ${PEER_TOKEN}` })).status).toBe(401);
  });

  test('a rejected reload names the key but never echoes the config text', async () => {
    await start(`web: {listen_address: "127.0.0.1:0", enable_lifecycle: true}\nalerting: {api_token: ${API_TOKEN}}\n`);
    writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0", enable_lifecycle: true}\nalerting: {api_token: ${API_TOKEN}}\nrules: {no_master_for: "hunter2-password"}\n`);
    const r = await raw(port, 'POST', '/-/reload', { authorization: `Bearer ${API_TOKEN}` });
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/rules\.no_master_for/);
    expect(r.body).not.toMatch(/hunter2/);
    writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0"\n  enable_lifecycle: secret-in-broken-yaml\n`);
    const y = await raw(port, 'POST', '/-/reload', { authorization: `Bearer ${API_TOKEN}` });
    expect(y.status).toBe(400);
    expect(y.body).toMatch(/YAML syntax/);
    expect(y.body).not.toMatch(/secret-in-broken-yaml/);
  });

  test.each(['//x/-/reload', '//metrics', '/./metrics', '/a/../-/reload', '/%2F-/reload', '/-%2freload', '/%2e/metrics', '/%6Detrics', '/metrics%', '\\metrics', 'http://agent/metrics'])(
    'ambiguous path %s is refused with 400 before routing',
    async (path) => {
      await start(`web: {listen_address: "127.0.0.1:0", enable_lifecycle: true}\nalerting: {api_token: ${API_TOKEN}}\n`);
      for (const method of ['GET', 'POST']) {
        const r = await raw(port, method, path, { authorization: `Bearer ${API_TOKEN}` });
        expect(r.status).toBe(400);
      }
    },
  );

  test('canonical paths keep their query and ordinary escapes', () => {
    expect(canonicalTarget('/metrics?x=1')).toBe('/metrics?x=1');
    expect(canonicalTarget('/api/v1/silences/a%20b')).toBe('/api/v1/silences/a%20b');
    expect(canonicalTarget('/a//b')).toEqual({ error: expect.stringMatching(/empty segment/) });
  });

  test('nosniff on every response; /-/healthy and /-/ready answer', async () => {
    await start('web: {listen_address: "127.0.0.1:0"}\n');
    for (const p of ['/metrics', '/healthz', '/nope', '//metrics', '/-/healthy', '/-/ready']) {
      expect((await raw(port, 'GET', p)).headers['x-content-type-options']).toBe('nosniff');
    }
    expect(await raw(port, 'GET', '/-/healthy')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await raw(port, 'GET', '/-/ready')).toMatchObject({ status: 200, body: 'ready\n' });
    expect(await raw(port, 'POST', '/-/reload')).toMatchObject({ status: 403 });
  });

  test('web.max_connections: sockets past the limit are closed at once; freed slots serve again', async () => {
    await start('web: {listen_address: "127.0.0.1:0", max_connections: 8}\n');
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const s = connect(port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        open.push(s);
      }
      // The server counts a socket once it accepted it: wait until it has all eight.
      await waitFor(() => new Promise<boolean>((r) => (daemon.http as unknown as { server: { getConnections(cb: (e: Error | null, n: number) => void): void } }).server.getConnections((_e, n) => r(n === 8))), { what: '8 connections' });
      const extra = connect(port, '127.0.0.1');
      const closed = await new Promise<boolean>((r) => {
        extra.once('close', () => r(true));
        extra.once('error', () => r(true));
      });
      expect(closed).toBe(true);
    } finally {
      for (const s of open) s.destroy();
    }
    await waitFor(async () => (await raw(port, 'GET', '/healthz')).status === 200, { what: 'healthz after sockets closed' });
  });
});
