// The status page module: GET / (the page), GET /static/* (its script and style, no build step),
// GET /api/v1/status (the status snapshot: cluster, alerts, timeline, verdict) and
// GET /api/v1/events (the same snapshot pushed as server-sent events whenever it changes).
// Changes are coalesced: a burst of store events (a failover touches several sources and probes)
// gives one snapshot, and a snapshot equal to the last one sent is not sent again.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Component, ModuleFactory, WiringCtx } from '../module';
import { HttpError, sendJson } from '../http/server';
import { buildStatusSnapshot, snapshotChangeKey, type StatusSnapshot } from '../status/snapshot';

export interface PageOptions {
  /** Directory of index.html, app.js, style.css (default: agent/http/page, from source or dist). */
  pageDir?: string;
  /** Coalescing delay between a change and the snapshot it triggers. */
  coalesceMs?: number;
  /** Snapshot re-check interval (peer staleness and relative states change without events). */
  tickMs?: number;
  /** SSE heartbeat, so proxies keep the stream open and clients notice a dead agent. */
  heartbeatMs?: number;
  maxClients?: number;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

// Only our own files, no inline scripts or styles, no third-party anything.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Where the page's files are: next to this module in the source tree, or in the source tree beside dist/. */
export function findPageDir(): string {
  for (const d of [join(__dirname, '../http/page'), join(__dirname, '../../../agent/http/page')]) {
    if (existsSync(join(d, 'index.html'))) return d;
  }
  throw new Error(`status page files not found (looked in ${join(__dirname, '../http/page')} and ${join(__dirname, '../../../agent/http/page')})`);
}

/** The page's files, read once: names are fixed at build, so a request path can never leave the directory. */
function loadFiles(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

function sendFile(res: ServerResponse, f: { body: Buffer; type: string }): void {
  res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(f.body);
}

/** The SSE hub: one snapshot builder shared by all open streams. */
class StatusStream implements Component {
  readonly name = 'status-stream';
  /** Open streams, each with the change key of the last snapshot it was sent. */
  private readonly clients = new Map<ServerResponse, string>();
  private readonly unsub: Array<() => void> = [];
  private pending?: NodeJS.Timeout;
  private tick?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;

  constructor(private readonly w: WiringCtx, private readonly opts: Required<Omit<PageOptions, 'pageDir'>>) {}

  snapshot(): StatusSnapshot {
    const peers = this.w.shared.peers.views();
    const s = buildStatusSnapshot(this.w.store.state, peers, { active: this.w.alerts.active(), recent: this.w.alerts.recent() }, this.w.clock.now());
    const externalLabels = this.w.config.alerting.external_labels;
    return Object.keys(externalLabels).length ? { ...s, externalLabels } : s;
  }

  async start(): Promise<void> {
    const changed = () => this.schedule();
    this.unsub.push(this.w.store.subscribe(changed), this.w.alerts.subscribe(changed), this.w.shared.peers.subscribe(changed));
    this.tick = this.w.clock.setInterval(changed, this.opts.tickMs);
    // A named event, not a comment: the page sees it and knows its data is still current.
    this.heartbeat = this.w.clock.setInterval(() => this.broadcast('event: ping\ndata: {}\n\n'), this.opts.heartbeatMs);
  }

  async stop(): Promise<void> {
    for (const u of this.unsub.splice(0)) u();
    this.w.clock.clearTimeout(this.pending);
    this.w.clock.clearInterval(this.tick);
    this.w.clock.clearInterval(this.heartbeat);
    this.pending = undefined;
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
  }

  /** GET /api/v1/events */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.opts.maxClients) throw new HttpError(503, `too many status streams open (${this.opts.maxClients})`);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx in front must not buffer the stream
    });
    const s = this.snapshot();
    this.clients.set(res, snapshotChangeKey(s));
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('error', drop);
    res.write(`retry: 2000\n${this.event(s)}`);
  }

  private event(s: StatusSnapshot): string {
    return `event: snapshot\nid: ${s.revision}\ndata: ${JSON.stringify(s)}\n\n`;
  }

  private schedule(): void {
    if (this.pending || this.clients.size === 0) return;
    this.pending = this.w.clock.setTimeout(() => {
      this.pending = undefined;
      this.flush();
    }, this.opts.coalesceMs);
  }

  private flush(): void {
    if (this.clients.size === 0) return;
    const s = this.snapshot();
    const key = snapshotChangeKey(s);
    // A client whose last snapshot equals this one for a viewer is told nothing.
    this.broadcast(this.event(s), key);
  }

  /** Writes to every stream (or, with key, to those whose last snapshot differs, recording it). */
  private broadcast(text: string, key?: string): void {
    for (const [c, last] of this.clients) {
      if (key !== undefined && last === key) continue;
      if (c.writableEnded || c.destroyed) {
        this.clients.delete(c);
        continue;
      }
      // A client that does not read (its buffer over 1 MiB) is dropped rather than buffered without bound.
      if (c.writableLength > 1024 * 1024) {
        c.destroy();
        this.clients.delete(c);
        continue;
      }
      c.write(text);
      if (key !== undefined) this.clients.set(c, key);
    }
  }
}

export function pageModuleFactory(options: PageOptions = {}): ModuleFactory {
  return {
    name: 'page',
    slice: () => null,
    build(w) {
      const dir = options.pageDir ?? findPageDir();
      const files = loadFiles(dir);
      const index = files.get('index.html');
      if (!index) throw new Error(`status page: ${dir}/index.html missing`);
      const stream = new StatusStream(w, {
        coalesceMs: options.coalesceMs ?? 150,
        tickMs: options.tickMs ?? 5_000,
        heartbeatMs: options.heartbeatMs ?? 10_000,
        maxClients: options.maxClients ?? 32,
      });
      return {
        components: [stream],
        routes: [
          { method: 'GET', path: '/', auth: 'web', handler: (_req, res) => sendFile(res, index) },
          {
            method: 'GET',
            path: '/static/*',
            auth: 'web',
            handler(_req, res, url) {
              const f = files.get(url.pathname.slice('/static/'.length));
              if (!f) throw new HttpError(404, `no such file: ${url.pathname}`);
              sendFile(res, f);
            },
          },
          { method: 'GET', path: '/api/v1/status', auth: 'web', handler: (_req, res) => sendJson(res, 200, stream.snapshot()) },
          { method: 'GET', path: '/api/v1/events', auth: 'web', handler: (req, res) => stream.open(req, res) },
        ],
      };
    },
  };
}

export const pageModule = pageModuleFactory();
