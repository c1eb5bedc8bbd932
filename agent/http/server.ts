// The agent's HTTP server: a small route table with one auth policy per route, on node:http or
// node:https (exporter-toolkit style TLS). Handlers never see an unauthenticated request.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { BasicAuthVerifier, checkBearer } from './auth';
import { clientCertRefusal, tlsServerOptions, type TlsConfig } from './tls';

export type { TlsConfig } from './tls';

/**
 * open: anyone (/healthz). web: basic auth when web.basic_auth_users is set, or the api token (metrics,
 * status page, state API: the api token already grants more, and it is what `keepwatch status` on
 * the node has, since the config holds only the passwords' hashes). peer: bearer peer token (peer stream). api: bearer api token (silences, write APIs).
 * lifecycle: refused unless web.enable_lifecycle, and then the api token or basic auth (reload).
 */
export type RouteAuth = 'open' | 'web' | 'peer' | 'api' | 'lifecycle';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface AuthConfig {
  /** user -> bcrypt hash; undefined = no basic auth. */
  basicAuthUsers?: Record<string, string>;
  /** Tokens accepted on peer routes (shared token and per-peer tokens). */
  peerTokens: string[];
  /** Tokens accepted on api routes. */
  apiTokens: string[];
  /** web.enable_lifecycle: lifecycle routes (POST /-/reload) exist only when true. */
  enableLifecycle?: boolean;
}

/** Connection limits of the listening server (web.max_connections and node's timeouts). */
export interface ServerLimits {
  maxConnections: number;
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = { maxConnections: 256, keepAliveTimeoutMs: 15_000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

/** One route: a handler behind one auth policy. A path ending in `/*` matches that prefix. */
export interface RouteSpec {
  method: string;
  path: string;
  auth: RouteAuth;
  handler: Handler;
}

/** A route as the table matches it: the method upper-cased, a prefix path without its `*`. */
interface TableRoute extends RouteSpec {
  prefix: boolean;
}

/** Largest request body any route accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Requests that proved who they are (basic auth, or a valid bearer token), for handlers that rank clients. */
const authenticatedRequests = new WeakSet<IncomingMessage>();

/** Whether this request carried valid credentials (not merely reached an open route). */
export function isAuthenticated(req: IncomingMessage): boolean {
  return authenticatedRequests.has(req);
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads a JSON request body, bounded; throws HttpError(400/413) with a clear message. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export class HttpServer {
  private routes: TableRoute[] = [];
  private server?: Server;
  private auth: AuthConfig = { peerTokens: [], apiTokens: [] };
  private basic?: { users: Record<string, string>; verifier: BasicAuthVerifier };
  private headers: Array<[string, string]> = [];

  constructor(private readonly log: Logger, private readonly now: () => number = Date.now) {}

  /** Replaces the whole route table (on start and reload). Later routes never shadow earlier exact ones. */
  setRoutes(routes: readonly RouteSpec[]): void {
    this.routes = routes.map((r) => {
      const prefix = r.path.endsWith('/*');
      return { ...r, method: r.method.toUpperCase(), path: prefix ? r.path.slice(0, -1) : r.path, prefix };
    });
  }

  setAuth(auth: AuthConfig): void {
    this.auth = auth;
    // The verifier (its cache and failure counts) survives reloads that keep the same users.
    const users = auth.basicAuthUsers;
    if (!users) this.basic = undefined;
    else if (!this.basic || JSON.stringify(this.basic.users) !== JSON.stringify(users)) this.basic = { users, verifier: new BasicAuthVerifier(users, this.now) };
  }

  /** Headers added to every response (the web config file's http_server_config.headers). */
  setHeaders(headers: Record<string, string> | undefined): void {
    this.headers = Object.entries(headers ?? {});
  }

  /** undefined: allowed; else the refusal (a client over its failure limit gets 429). */
  private async checkBasic(req: IncomingMessage): Promise<'basic' | 'limited' | undefined> {
    if (!this.basic) return 'basic';
    const r = await this.basic.verifier.verify(req.headers.authorization, req.socket.remoteAddress ?? 'unknown');
    return r === 'ok' ? undefined : r === 'limited' ? 'limited' : 'basic';
  }

  /** Where it listens (after listen()): host and port actually bound. */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  async listen(listenAddress: string, tls?: TlsConfig, limits: ServerLimits = DEFAULT_SERVER_LIMITS): Promise<void> {
    const { host, port } = parseListenAddress(listenAddress);
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = tls ? createHttpsServer(tlsServerOptions(tls), handler) : createHttpServer(handler);
    if (tls) {
      // Client-certificate policies that node's handshake does not enforce itself (tls.ts).
      server.on('secureConnection', (socket: TLSSocket) => {
        const why = clientCertRefusal(socket, tls);
        if (why) {
          this.log.debug({ client: socket.remoteAddress, reason: why }, 'TLS client refused');
          socket.destroy();
        }
      });
    }
    // Past maxConnections node closes new sockets at once: idle clients cannot exhaust descriptors.
    server.maxConnections = limits.maxConnections;
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.headersTimeout = limits.headersTimeoutMs;
    server.requestTimeout = limits.requestTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: host || undefined, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private findRoute(method: string, path: string): { route?: TableRoute; pathMatched: boolean } {
    let pathMatched = false;
    for (const r of this.routes) {
      const hit = r.prefix ? path.startsWith(r.path) : path === r.path;
      if (!hit) continue;
      pathMatched = true;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, pathMatched };
    }
    return { pathMatched };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff');
    for (const [k, v] of this.headers) res.setHeader(k, v);
    const target = canonicalTarget(req.url ?? '');
    if (typeof target !== 'string') {
      sendJson(res, 400, { error: target.error });
      return;
    }
    // Safe only because the target is canonical: it starts with exactly one '/', so URL never reads a host from it.
    const url = new URL(target, 'http://agent');
    const { route, pathMatched } = this.findRoute(req.method ?? 'GET', url.pathname);
    if (!route) {
      if (pathMatched) sendJson(res, 405, { error: `method ${req.method} not allowed on ${url.pathname}` });
      else sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` });
      return;
    }
    if (route.auth === 'lifecycle' && !this.auth.enableLifecycle) {
      sendJson(res, 403, { error: `lifecycle endpoints are disabled: set web.enable_lifecycle: true to use ${url.pathname}` });
      return;
    }
    const denied = await this.authorize(route.auth, req);
    if (denied === 'limited') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' });
      res.end('{"error":"too many failed authentication attempts from this address; try again later"}');
      return;
    }
    if (denied) {
      res.writeHead(401, { 'content-type': 'application/json', ...(denied === 'basic' ? { 'www-authenticate': 'Basic realm="keepwatch"' } : { 'www-authenticate': 'Bearer' }) });
      res.end('{"error":"unauthorized"}');
      return;
    }
    try {
      await route.handler(req, res, url);
      // HEAD of a stream (status events, peer stream): node sends no headers until end() for HEAD,
      // so the request would hang and hold a stream slot. A HEAD answer is complete once handled.
      if (req.method === 'HEAD' && !res.writableEnded) res.end();
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) this.log.error({ err: e, path: url.pathname }, 'http handler failed');
      if (!res.headersSent) sendJson(res, status, { error: (e as Error).message });
      else res.destroy();
    }
  }

  /** Returns undefined when allowed, or which challenge to send. */
  private async authorize(auth: RouteAuth, req: IncomingMessage): Promise<'basic' | 'bearer' | 'limited' | undefined> {
    const header = req.headers.authorization;
    switch (auth) {
      case 'open':
        return undefined;
      case 'web': {
        if (!this.auth.basicAuthUsers) {
          if (checkBearer(header, [...this.auth.apiTokens, ...this.auth.peerTokens])) authenticatedRequests.add(req);
          return undefined;
        }
        if (checkBearer(header, this.auth.apiTokens)) {
          authenticatedRequests.add(req);
          return undefined;
        }
        const r = await this.checkBasic(req);
        if (r === undefined) authenticatedRequests.add(req);
        return r;
      }
      case 'peer':
        return checkBearer(header, this.auth.peerTokens) ? undefined : 'bearer';
      case 'api':
        return checkBearer(header, this.auth.apiTokens) ? undefined : 'bearer';
      case 'lifecycle':
        // Never open: with neither an api token nor basic auth configured nobody can pass.
        if (checkBearer(header, this.auth.apiTokens)) return undefined;
        if (!this.auth.basicAuthUsers) return 'bearer';
        return this.checkBasic(req);
    }
  }
}

/** ":9723" -> all interfaces; "127.0.0.1:9723"; "[::1]:9723". */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`listen address "${addr}" is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen address "${addr}": port out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Characters a proxy may decode or fold before matching its path rules: escaped, they make a path ambiguous. */
const AMBIGUOUS_ESCAPE = /^(?:2f|5c|2e|00)$/i;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The request target as the router may use it, or why it is refused. Only origin-form targets
 * whose path is already canonical are accepted: no `//`, no `.` or `..` segment, no backslash, no
 * escaped slash, backslash, dot or NUL, no escaped character a proxy would decode. Refusing instead of
 * rewriting means the agent and any reverse proxy in front always agree on which route a request names.
 */
export function canonicalTarget(raw: string): string | { error: string } {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const shown = JSON.stringify(path.slice(0, 80));
  if (!path.startsWith('/')) return { error: `request target must be a path starting with "/": ${shown}` };
  if (/[\\\u0000-\u001f\u007f]/.test(path)) return { error: `ambiguous request path (backslash or control character): ${shown}` };
  if (path.includes('//')) return { error: `ambiguous request path (empty segment): ${shown}` };
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') return { error: `ambiguous request path (dot segment): ${shown}` };
  }
  for (const m of path.matchAll(/%(.{0,2})/g)) {
    const hex = m[1];
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { error: `malformed percent escape in request path: ${shown}` };
    if (AMBIGUOUS_ESCAPE.test(hex) || UNRESERVED.test(String.fromCharCode(parseInt(hex, 16)))) {
      return { error: `ambiguous request path (escaped "%${hex}"): ${shown}` };
    }
  }
  return raw;
}
