// The peer protocol over real HTTP(S) servers on loopback: auth, the stream, liveness, backoff,
// and peers that misbehave (garbage, floods, drips, silence). What is about time (coalescing, the
// refresh limit, heartbeats, peer_timeout, reconnect delays) runs on the injected fake clock, the
// rest on real time with short timeouts; stream latency is measured in bench/peerStream.ts.
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { HttpServer } from '../../../agent/http/server';
import { NodeStore } from '../../../agent/state/store';
import { PeerServer } from '../../../agent/peers/peerServer';
import { PeerClient, type PeerTarget } from '../../../agent/peers/peerClient';
import { PeerDirectory } from '../../../agent/peers/peerDirectory';
import { encodePeerMessage, parsePeerMessage } from '../../../agent/peers/peerMessage';
import { SseParser, SseTooLargeError, type SseItem } from '../../../agent/peers/sseParser';
import { FakeClock } from '../../helpers/fakeClock';
import { sleep, waitFor } from '../../helpers/wait';
import { rawPeer } from '../../helpers/rawPeer';

const TOKEN = 'peer-token-0123456789abcdef';
const log = silentLogger();

interface Agent {
  store: NodeStore;
  http: HttpServer;
  server: PeerServer;
  url: string;
  close(): Promise<void>;
}

interface AgentOptions {
  tls?: { certFile: string; keyFile: string };
  clock?: Clock;
  heartbeatMs?: number;
  refreshMs?: number;
}

async function startAgent(node = 'ka2', o: AgentOptions = {}): Promise<Agent> {
  const clock = o.clock ?? systemClock;
  const store = new NodeStore(node, clock);
  store.apply({ kind: 'keepalived', up: true, at: clock.now(), source: 'dbus' });
  store.apply({ kind: 'instance', at: clock.now(), source: 'dbus', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'BACKUP', vips: ['192.0.2.100'] });
  const http = new HttpServer(log);
  const server = new PeerServer({ store, clock, log, heartbeatMs: o.heartbeatMs ?? 200, refreshMs: o.refreshMs ?? 400 });
  const tls = o.tls;
  http.setRoutes(server.routes());
  http.setAuth({ peerTokens: [TOKEN], apiTokens: [] });
  await http.listen('127.0.0.1:0', tls);
  await server.start();
  const port = http.address()!.port;
  return {
    store,
    http,
    server,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    async close() {
      await server.stop();
      await http.close();
    },
  };
}

function client(targets: PeerTarget[], dir = new PeerDirectory(), extra: Partial<ConstructorParameters<typeof PeerClient>[1]> = {}) {
  const c = new PeerClient(targets, { directory: dir, clock: systemClock, log, timeoutMs: 600, backoffInitialMs: 50, backoffMaxMs: 200, penaltyMs: 400, ...extra });
  return { c, dir };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sseHead = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });

/** The peer stream as a test reads it: every event and comment, in order of arrival. */
interface RawStream {
  items: SseItem[];
  states(): number[];
  close(): void;
}

async function openStream(url: string): Promise<RawStream> {
  const parser = new SseParser(1024 * 1024);
  const items: SseItem[] = [];
  let res: IncomingMessage | undefined;
  const req = request(`${url}/api/v1/peer/stream`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await new Promise<void>((resolve, reject) => {
    req.on('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => items.push(...parser.push(chunk)));
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
  return {
    items,
    states: () => items.flatMap((i) => (i.kind === 'event' && i.event === 'state' ? [JSON.parse(i.data).state.revision as number] : [])),
    close: () => {
      res?.destroy();
      req.destroy();
    },
  };
}

describe('peer server auth', () => {
  let a: Agent;
  beforeAll(async () => {
    a = await startAgent();
  });
  afterAll(() => a.close());

  test.each([
    ['no token', {}],
    ['wrong token', { authorization: 'Bearer wrong-token-0123456789' }],
    ['basic auth', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
  ])('%s: 401, nothing leaked', async (_what, headers) => {
    for (const path of ['/api/v1/peer/state', '/api/v1/peer/stream']) {
      const r = await get(a.url + path, headers as Record<string, string>);
      expect(r.status).toBe(401);
      expect(r.body).toBe('{"error":"unauthorized"}');
      expect(r.body).not.toMatch(/VI_1|ka2|192\.0\.2/);
    }
  });

  test('with the token: the state snapshot', async () => {
    const r = await get(`${a.url}/api/v1/peer/state`, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    const m = parsePeerMessage(r.body);
    expect(m.ok && m.message.state.instances.VI_1.state).toBe('BACKUP');
  });
});

describe('peer stream', () => {
  test('full state on connect, then every change', async () => {
    const a = await startAgent();
    const { c, dir } = client([{ name: 'ka2', url: a.url, token: TOKEN }]);
    await c.start();
    try {
      await waitFor(() => dir.get('ka2')?.up === true, { what: 'peer up' });
      expect(dir.get('ka2')!.state!.instances.VI_1.state).toBe('BACKUP');
      for (let i = 0; i < 20; i++) {
        const state = i % 2 ? 'BACKUP' : 'MASTER';
        a.store.apply({ kind: 'transition', iname: 'VI_1', state, at: Date.now(), source: 'dbus' });
        const rev = a.store.state.revision;
        await waitFor(() => (dir.get('ka2')?.state?.revision ?? 0) >= rev, { what: `change ${i}` });
        expect(dir.get('ka2')!.state!.instances.VI_1.state).toBe(state);
      }
      expect(dir.get('ka2')!.errors).toEqual({});
    } finally {
      await c.stop();
      await a.close();
    }
  });

  test('heartbeats alone keep an idle peer up, for three times peer_timeout (fake clock)', async () => {
    const clock = new FakeClock();
    const a = await startAgent('ka2', { clock, heartbeatMs: 200 });
    const { c, dir } = client([{ name: 'ka2', url: a.url, token: TOKEN }], new PeerDirectory(), { clock, timeoutMs: 600 });
    await c.start();
    try {
      await waitFor(() => dir.get('ka2')?.up === true, { what: 'peer up' });
      const events = dir.get('ka2')!.events;
      for (let i = 0; i < 9; i++) {
        clock.advance(200);
        // Each heartbeat read before time moves on: the peer was last seen now.
        await waitFor(() => dir.get('ka2')!.lastSeenAt === clock.now(), { what: `heartbeat ${i}` });
        expect(dir.get('ka2')!.up).toBe(true);
      }
      expect(dir.get('ka2')!.events).toBe(events);
      expect(dir.get('ka2')!.errors).toEqual({});
    } finally {
      await c.stop();
      await a.close();
    }
  });

  test('a burst of changes is coalesced, and the last state always arrives', async () => {
    const a = await startAgent();
    const { c, dir } = client([{ name: 'ka2', url: a.url, token: TOKEN }]);
    await c.start();
    try {
      await waitFor(() => dir.get('ka2')?.up === true, { what: 'peer up' });
      const before = dir.get('ka2')!.events;
      for (let i = 0; i < 500; i++) a.store.apply({ kind: 'probe_run', probe: 'p', ok: true, durationMs: i, at: Date.now(), source: 'derived' });
      const rev = a.store.state.revision;
      await waitFor(() => dir.get('ka2')!.state!.revision === rev, { what: 'last revision' });
      expect(dir.get('ka2')!.events - before).toBeLessThan(10);
    } finally {
      await c.stop();
      await a.close();
    }
  });

  test('fresher measurements alone go at most once per refreshMs; a verdict change within coalesceMs (fake clock)', async () => {
    // Heartbeats every 10 ms of fake time: after each step the test waits for the heartbeat
    // stamped with the step's end, so everything the server wrote before it has been read.
    const clock = new FakeClock();
    const a = await startAgent('ka2', { clock, heartbeatMs: 10, refreshMs: 1500 });
    const measurement = (i: number) =>
      a.store.apply({ kind: 'nginx_status', up: true, at: clock.now(), source: 'nginx_probe', status: { active: 1 + (i % 3), accepted: i, handled: i, requests: i, reading: 0, writing: 1, waiting: 0 } });
    measurement(0); // nginx up: from here on, measurements repeat the verdict
    const s = await openStream(a.url);
    const step = async (ms: number) => {
      clock.advance(ms);
      const hb = `hb ${clock.now()}`;
      await waitFor(() => s.items.some((i) => i.kind === 'comment' && i.text === hb), { what: hb });
    };
    try {
      await step(10);
      expect(s.states()).toEqual([a.store.state.revision]); // the full state on connect, at t0
      // Probe runs every 20 ms for 1 s: the state's revision moves, its verdicts do not: nothing goes.
      for (let i = 1; i <= 50; i++) {
        measurement(i);
        await step(20);
      }
      expect(s.states()).toHaveLength(1);
      // refreshMs after the last send (t0 + 1500) the last measurements go, once.
      await step(500);
      expect(s.states()).toEqual([expect.any(Number), a.store.state.revision]);
      // A verdict change is material: it goes coalesceMs (50) after the last send, not a refresh later.
      a.store.apply({ kind: 'nginx_status', up: false, at: clock.now(), source: 'nginx_probe', reason: 'connect ECONNREFUSED' });
      await step(50);
      expect(s.states()).toHaveLength(3);
      expect(s.states()[2]).toBe(a.store.state.revision);
      // A repeat of it (material false) waits for the refresh: not at 1490 ms, at 1500 ms after that send.
      a.store.apply({ kind: 'nginx_status', up: false, at: clock.now(), source: 'nginx_probe', reason: 'connect ECONNREFUSED' });
      await step(1480);
      expect(s.states()).toHaveLength(3);
      await step(20);
      expect(s.states()).toHaveLength(4);
      expect(s.states()[3]).toBe(a.store.state.revision);
    } finally {
      s.close();
      await a.close();
    }
  });

  test('peer gone (agent stopped): down at once, counted; back: up again', async () => {
    const a = await startAgent();
    const { c, dir } = client([{ name: 'ka2', url: a.url, token: TOKEN }]);
    await c.start();
    try {
      await waitFor(() => dir.get('ka2')?.up === true, { what: 'peer up' });
      const port = a.http.address()!.port;
      await a.close();
      await waitFor(() => dir.get('ka2')!.up === false, { what: 'peer down', timeoutMs: 3000 });
      expect(dir.get('ka2')!.errors.connect).toBeGreaterThan(0);
      expect(dir.get('ka2')!.state).toBeDefined(); // the last known state stays, stale
      // Back on the same port.
      const b = new HttpServer(log);
      const srv = new PeerServer({ store: a.store, clock: systemClock, log, heartbeatMs: 200 });
      b.setRoutes(srv.routes());
      b.setAuth({ peerTokens: [TOKEN], apiTokens: [] });
      await b.listen(`127.0.0.1:${port}`);
      try {
        await waitFor(() => dir.get('ka2')!.up === true, { what: 'peer up again', timeoutMs: 3000 });
      } finally {
        await srv.stop();
        await b.close();
      }
    } finally {
      await c.stop();
    }
  });

  test('peer silent (partition: no FIN, no data): down once peer_timeout has passed, not before (fake clock)', async () => {
    const clock = new FakeClock();
    const p = await rawPeer((res) => {
      sseHead(res);
      res.write(`event: state\ndata: ${encodePeerMessage(new NodeStore('ka2', clock).state, clock.now())}\n\n`);
      // then nothing, forever
    });
    const { c, dir } = client([{ name: 'ka2', url: p.url }], new PeerDirectory(), { clock, timeoutMs: 600 });
    await c.start();
    try {
      await waitFor(() => dir.get('ka2')?.up === true, { what: 'peer up' });
      clock.advance(600);
      expect(dir.get('ka2')!.up).toBe(true);
      clock.advance(1);
      expect(dir.get('ka2')!.up).toBe(false);
      expect(dir.get('ka2')!.errors).toEqual({ timeout: 1 });
    } finally {
      await c.stop();
      await p.close();
    }
  });

  test('a peer that accepts but never answers: never up, timeout counted', async () => {
    const p = await rawPeer(() => undefined);
    const { c, dir } = client([{ name: 'ka2', url: p.url }]);
    await c.start();
    try {
      await waitFor(() => (dir.get('ka2')!.errors.timeout ?? 0) > 0, { what: 'timeout counted', timeoutMs: 3000 });
      expect(dir.get('ka2')!.up).toBe(false);
    } finally {
      await c.stop();
      await p.close();
    }
  });

  test('wrong token: http_status counted with a clear error, never up', async () => {
    const a = await startAgent();
    const { c, dir } = client([{ name: 'ka2', url: a.url, token: 'not-the-token-0123456789' }]);
    await c.start();
    try {
      await waitFor(() => (dir.get('ka2')!.errors.http_status ?? 0) > 0, { what: 'error' });
      expect(dir.get('ka2')!.error).toMatch(/HTTP 401 \(wrong or missing peer token\)/);
      expect(dir.get('ka2')!.up).toBe(false);
    } finally {
      await c.stop();
      await a.close();
    }
  });

  test('a refused peer is retried after equal-jitter backoff delays, capped; the peer down meanwhile (fake clock)', async () => {
    const clock = new FakeClock();
    let requests = 0;
    const p = await rawPeer((res) => {
      requests++;
      res.writeHead(503);
      res.end();
    });
    // random 0: each delay is the lower end of its jitter range, half the exponential step.
    const { c, dir } = client([{ name: 'ka2', url: p.url }], new PeerDirectory(), { clock, random: () => 0, backoffInitialMs: 100, backoffMaxMs: 400 });
    await c.start();
    try {
      await waitFor(() => dir.get('ka2')!.errors.http_status === 1, { what: 'first attempt refused' });
      for (const [i, delay] of [50, 100, 200, 200].entries()) {
        clock.advance(delay - 1);
        await sleep(30); // room for an attempt made too early to show
        expect(requests).toBe(i + 1);
        clock.advance(1);
        await waitFor(() => dir.get('ka2')!.errors.http_status === i + 2, { what: `attempt ${i + 2}` });
      }
      expect(dir.get('ka2')!.up).toBe(false);
    } finally {
      await c.stop();
      await p.close();
    }
  });

  test('garbage, an endless event, a flood, a drip: cut off and counted; memory bounded; the other peer unaffected', async () => {
    const garbage = await rawPeer((res) => {
      sseHead(res);
      res.write('event: state\ndata: {"v":1,"sentAt":1,"state":{"node":"x"}}\n\n');
    });
    const endless = await rawPeer((res) => {
      sseHead(res);
      const chunk = 'x'.repeat(64 * 1024);
      let n = 0;
      const t = setInterval(() => {
        if (n++ > 40 || res.destroyed) return clearInterval(t);
        res.write(n === 1 ? `event: state\ndata: ${chunk}` : chunk);
      }, 1);
    });
    const flood = await rawPeer((res) => {
      sseHead(res);
      let n = 0;
      const t = setInterval(() => {
        if (n++ > 200 || res.destroyed) return clearInterval(t);
        res.write(': hb\n\n: hb\n\n: hb\n\n');
      }, 2);
    });
    const drip = await rawPeer((res) => {
      sseHead(res);
      let n = 0;
      const t = setInterval(() => {
        if (n++ > 100 || res.destroyed) return clearInterval(t);
        res.write('d');
      }, 50);
    });
    const good = await startAgent('ka9');
    const dir = new PeerDirectory();
    const { c } = client(
      [
        { name: 'garbage', url: garbage.url },
        { name: 'endless', url: endless.url },
        { name: 'flood', url: flood.url },
        { name: 'drip', url: drip.url },
        { name: 'ka9', url: good.url, token: TOKEN },
      ],
      dir,
      { maxEventBytes: 1024 * 1024, maxEventsPerSecond: 100 },
    );
    await c.start();
    try {
      await waitFor(
        () => {
          const e = (n: string) => dir.get(n)!.errors;
          return (e('garbage').bad_data ?? 0) > 0 && (e('endless').too_large ?? 0) > 0 && (e('flood').flood ?? 0) > 0 && (e('drip').timeout ?? 0) > 0;
        },
        { what: 'every misbehaviour counted' },
      ).catch((err) => {
        throw new Error(`${err.message}: ${JSON.stringify(dir.list().map((p) => [p.name, p.errors, p.error]))}`);
      });
      for (const n of ['garbage', 'endless', 'flood', 'drip']) expect(dir.get(n)!.up).toBe(false);
      expect(dir.get('garbage')!.error).toMatch(/bad peer state at state\./);
      expect(dir.get('ka9')!.up).toBe(true);
      expect(dir.get('ka9')!.errors).toEqual({});
    } finally {
      await c.stop();
      await Promise.all([garbage.close(), endless.close(), flood.close(), drip.close(), good.close()]);
    }
  }, 15_000);

  test('too many streams: 503, and the server ends streams on stop', async () => {
    const a = await startAgent();
    const srv = new PeerServer({ store: a.store, clock: systemClock, log, maxStreams: 1 });
    a.http.setRoutes(srv.routes());
    await srv.start();
    const dirs = [new PeerDirectory(), new PeerDirectory()];
    const c1 = client([{ name: 'ka2', url: a.url, token: TOKEN }], dirs[0]).c;
    await c1.start();
    try {
      await waitFor(() => dirs[0].get('ka2')?.up === true, { what: 'first up' });
      const r = await get(`${a.url}/api/v1/peer/stream`, { authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(503);
      expect(r.body).toMatch(/1 streams open/);
      // stop() ends the open stream: the client sees it closed.
      await srv.stop();
      await waitFor(() => (dirs[0].get('ka2')!.errors.closed ?? 0) > 0, { what: 'the stream ended by the server' });
    } finally {
      await c1.stop();
      await a.close();
    }
  });
});

describe('peer stream over TLS (self-signed certificate)', () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-tls-'));
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=keepwatch-test', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('https peer with its CA file: streams; without it: refused and counted; skip-verify: streams', async () => {
    const a = await startAgent('ka2', { tls: { certFile: cert, keyFile: key } });
    expect(a.url).toMatch(/^https:/);
    const dirs = [new PeerDirectory(), new PeerDirectory(), new PeerDirectory()];
    const withCa = client([{ name: 'ka2', url: a.url, token: TOKEN, caFile: cert }], dirs[0]).c;
    const noCa = client([{ name: 'ka2', url: a.url, token: TOKEN }], dirs[1]).c;
    const skip = client([{ name: 'ka2', url: a.url, token: TOKEN, insecureSkipVerify: true }], dirs[2]).c;
    await Promise.all([withCa.start(), noCa.start(), skip.start()]);
    try {
      await waitFor(() => dirs[0].get('ka2')?.up === true, { what: 'tls peer up' });
      const rev = a.store.state.revision + 1;
      a.store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: Date.now(), source: 'dbus' });
      await waitFor(() => (dirs[0].get('ka2')?.state?.revision ?? 0) >= rev, { what: 'change over tls' });
      await waitFor(() => (dirs[1].get('ka2')!.errors.connect ?? 0) > 0, { what: 'self-signed refused' });
      expect(dirs[1].get('ka2')!.error).toMatch(/self.signed|certificate/i);
      expect(dirs[1].get('ka2')!.up).toBe(false);
      await waitFor(() => dirs[2].get('ka2')?.up === true, { what: 'skip-verify up' });
      // Plain http against the TLS port does not work either.
      const plain = client([{ name: 'ka2', url: a.url.replace('https', 'http'), token: TOKEN }]);
      await plain.c.start();
      await waitFor(() => Object.keys(plain.dir.get('ka2')!.errors).length > 0, { what: 'plain refused' });
      await plain.c.stop();
    } finally {
      await Promise.all([withCa.stop(), noCa.stop(), skip.stop()]);
      await a.close();
    }
  });
});

describe('SseParser', () => {
  test('frames events and comments across chunk boundaries, CRLF too', () => {
    const p = new SseParser(1000);
    expect(p.push('event: state\nda')).toEqual([]);
    expect(p.push('ta: {"a":1}\n\n: hb\r\n\r\nevent: x\ndata: 1\ndata: 2\n\n')).toEqual([
      { kind: 'event', event: 'state', data: '{"a":1}' },
      { kind: 'comment', text: 'hb' },
      { kind: 'event', event: 'x', data: '1\n2' },
    ]);
  });

  test('an event larger than the cap throws, even when dripped', () => {
    const p = new SseParser(100);
    expect(() => {
      for (let i = 0; i < 200; i++) p.push('x');
    }).toThrow(SseTooLargeError);
    expect(() => new SseParser(10).push(`data: ${'y'.repeat(20)}\n\n`)).toThrow(SseTooLargeError);
  });
});
