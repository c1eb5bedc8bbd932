// The HTTP client of the webhook, Slack and Alertmanager receivers: one POST, its answer classified
// into accepted, worth retrying (with Retry-After when the receiver gave one) or refused for good.
// node:http(s), not fetch: Node 20's fetch loads undici and compiles its WebAssembly HTTP parser on
// first use, memory that would appear with the first page an agent sends (bench/RESULTS.md).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../../context';
import { deadline } from './deadline';
import { ReceiverError, sanitize } from './receiver';
import { parseRetryAfter } from './retryAfter';

/**
 * Which HTTP answers are worth retrying. 400/413/415/422 say the payload itself was refused:
 * retrying the same bytes cannot help. Everything else (401/403/404 from a misconfigured or
 * re-created hook included) may be fixed by the operator within max_age, so it is retried.
 */
export function httpRetryable(status: number): boolean {
  return ![400, 413, 415, 422].includes(status);
}

/** Client TLS for https URLs (the contents, not paths: the caller reads the files). */
export interface HttpTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface HttpPostOptions {
  receiver: string;
  url: string;
  /** POST (default) or GET (a heartbeat ping: no body). */
  method?: 'POST' | 'GET';
  body: string;
  tls?: HttpTls;
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  clock: Clock;
}

/**
 * POSTs and classifies the answer: resolves with the response text on 2xx, throws a ReceiverError
 * otherwise. Network errors and timeouts are retryable. The URL never appears in an error.
 */
export async function httpPost(o: HttpPostOptions): Promise<string> {
  return (await httpPostResponse(o)).text;
}

/** httpPost, with the answer's headers too (a Slack API answer is 200 even when rate limited). */
export async function httpPostResponse(o: HttpPostOptions): Promise<{ text: string; headers: IncomingHttpHeaders }> {
  const dl = deadline(o.signal, o.timeoutMs, o.clock);
  try {
    let res: { status: number; headers: IncomingHttpHeaders; text: string };
    try {
      res = await post(o.url, o.method ?? 'POST', o.body, o.headers, dl.signal, o.tls);
    } catch (e) {
      throw new ReceiverError(`${o.receiver}: ${describeRequestError(e, o.timeoutMs, o.signal).split(o.url).join('<url>')}`, true);
    }
    if (res.status >= 200 && res.status < 300) return { text: res.text, headers: res.headers };
    // Redirects are not followed: a hook that moved must be reconfigured, not chased (fetch's redirect: 'error').
    const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(headerValue(res.headers['retry-after']), o.clock.now()) : undefined;
    throw new ReceiverError(`${o.receiver}: HTTP ${res.status}${res.text ? ` ${sanitize(res.text)}` : ''}`, httpRetryable(res.status), retryAfterMs);
  } finally {
    dl.clear();
  }
}

/** Bytes of a response body kept: enough for an error message. */
const BODY_LIMIT = 4096;

export function headerValue(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;
}

/** One POST; the body read up to BODY_LIMIT bytes (the rest is dropped with the connection). */
function post(url: string, method: 'POST' | 'GET', body: string, headers: Record<string, string>, signal: AbortSignal, tls: HttpTls | undefined): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new Error(`unsupported protocol ${u.protocol}`));
      return;
    }
    const payload = Buffer.from(body, 'utf8');
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method, headers: { ...headers, 'content-length': String(payload.length) }, signal, ...(u.protocol === 'https:' && tls ? tls : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8').slice(0, BODY_LIMIT) });
        res.on('data', (c: Buffer) => {
          if (size >= BODY_LIMIT) return;
          chunks.push(c);
          size += c.length;
          if (size >= BODY_LIMIT) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
        // A body cut short still has its status: that says enough.
        res.on('error', done);
        res.on('aborted', done);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function describeRequestError(e: unknown, timeoutMs: number, outer: AbortSignal): string {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (outer.aborted) return 'send aborted (agent stopping)';
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err.code === 'ABORT_ERR' ? undefined : (err.code ?? err.cause?.code);
  if (code) return `connection failed: ${code}`;
  return `request failed: ${sanitize(err.cause?.message ?? err.message)}`;
}
