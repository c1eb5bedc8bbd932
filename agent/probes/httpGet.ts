// The probes' HTTP client: a GET with an AbortSignal and a bounded body. node:http with a
// keep-alive agent rather than fetch: a probe that runs every second or few must stay cheap, and
// this costs the least CPU per run of the three ways bench/probeCost.ts compares (a new connection
// each run, fetch/undici). Injectable (tests, other transports).
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpResponse {
  status: number;
  body: string;
}

export interface HttpGetOptions {
  signal: AbortSignal;
  headers?: Record<string, string>;
  /** Body bytes kept (default 64 KiB); the rest is read and dropped. */
  maxBytes?: number;
}

/** Rejects on network errors and on abort (with the signal's reason); any HTTP status resolves. */
export type HttpGet = (url: string, opts: HttpGetOptions) => Promise<HttpResponse>;

export function createHttpGet(opts: { keepAlive?: boolean } = {}): HttpGet & { close(): void } {
  // keep-alive: one idle connection per target reused run after run (nginx keeps it 75 s by default).
  const agentHttp = new http.Agent({ keepAlive: opts.keepAlive ?? true, maxSockets: 4, maxFreeSockets: 2 });
  const agentHttps = new https.Agent({ keepAlive: opts.keepAlive ?? true, maxSockets: 4, maxFreeSockets: 2 });
  const once = (u: URL, o: HttpGetOptions, mayRetry: boolean): Promise<HttpResponse> =>
    new Promise<HttpResponse>((resolve, reject) => {
      const isHttps = u.protocol === 'https:';
      const max = o.maxBytes ?? 64 * 1024;
      const req = (isHttps ? https : http).request(
        u,
        { method: 'GET', headers: { 'user-agent': 'keepwatch-probe', ...(o.headers ?? {}) }, agent: isHttps ? agentHttps : agentHttp, signal: o.signal },
        (res) => {
          const chunks: Buffer[] = [];
          let len = 0;
          res.on('data', (b: Buffer) => {
            if (len < max) chunks.push(b.subarray(0, max - len));
            len += b.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(o.signal.aborted ? o.signal.reason ?? e : e));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (o.signal.aborted) return reject(o.signal.reason ?? e);
        // An idle kept-alive connection the server closed just now (nginx reload): one fresh try.
        if (mayRetry && req.reusedSocket && (e.code === 'ECONNRESET' || e.message === 'socket hang up')) {
          once(u, o, false).then(resolve, reject);
          return;
        }
        reject(e);
      });
      req.end();
    });
  const get = ((url: string, o: HttpGetOptions) => {
    if (o.signal.aborted) return Promise.reject(o.signal.reason ?? new Error('aborted'));
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return Promise.reject(new Error(`invalid URL ${url}`));
    }
    return once(u, o, true);
  }) as HttpGet & { close(): void };
  get.close = () => {
    agentHttp.destroy();
    agentHttps.destroy();
  };
  return get;
}

/** A short description of a request failure for a probe's reason ("connect ECONNREFUSED 127.0.0.1:80"). */
export function httpErrorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: unknown };
  if (err && typeof err === 'object' && 'message' in err && err.message) return err.message;
  return String(e);
}
