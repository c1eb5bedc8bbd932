// What every receiver is: a name and a send() that either resolves (the receiver accepted the
// notification: the outbox may forget it) or throws a ReceiverError saying whether trying again
// can help. Receivers never log or throw their secrets (webhook URLs, passwords, tokens): errors
// name the receiver and what happened, not where it was sent.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Notification } from '../notification';

export interface SendResult {
  /** Accepted, but do not send the next notification to this receiver before this many ms. */
  retryAfterMs: number;
}

export interface Receiver {
  readonly name: string;
  readonly type: string;
  send(notification: Notification, signal: AbortSignal): Promise<void | SendResult>;
  /** Releases connections (SMTP pools, timers). */
  close?(): Promise<void>;
}

export class ReceiverError extends Error {
  constructor(
    message: string,
    /** false: the receiver refused this notification for good (e.g. HTTP 400, SMTP 550); sending it again cannot help. */
    readonly retryable: boolean,
    /** The receiver asked to wait this long (HTTP 429/503 Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ReceiverError';
  }
}

/**
 * Which HTTP answers are worth retrying. 400/413/415/422 say the payload itself was refused:
 * retrying the same bytes cannot help. Everything else (401/403/404 from a misconfigured or
 * re-created hook included) may be fixed by the operator within max_age, so it is retried.
 */
export function httpRetryable(status: number): boolean {
  return ![400, 413, 415, 422].includes(status);
}

/** Retry-After: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(parseFloat(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export interface HttpPostOptions {
  receiver: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * POSTs and classifies the answer: resolves with the response text on 2xx, throws a ReceiverError
 * otherwise. Network errors and timeouts are retryable. The URL never appears in an error.
 * node:http(s), not fetch: Node 20's fetch loads undici and compiles its WebAssembly HTTP parser on
 * first use, ~10 MiB of RSS that would appear with the first page an agent sends.
 */
export async function httpPost(o: HttpPostOptions): Promise<string> {
  return (await httpPostResponse(o)).text;
}

/** httpPost, with the answer's headers too (a Slack API answer is 200 even when rate limited). */
export async function httpPostResponse(o: HttpPostOptions): Promise<{ text: string; headers: IncomingHttpHeaders }> {
  const dl = deadline(o.signal, o.timeoutMs);
  try {
    let res: { status: number; headers: IncomingHttpHeaders; text: string };
    try {
      res = await post(o.url, o.body, o.headers, dl.signal);
    } catch (e) {
      throw new ReceiverError(`${o.receiver}: ${describeRequestError(e, o.timeoutMs, o.signal).split(o.url).join('<url>')}`, true);
    }
    if (res.status >= 200 && res.status < 300) return { text: res.text, headers: res.headers };
    // Redirects are not followed: a hook that moved must be reconfigured, not chased (fetch's redirect: 'error').
    const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(headerValue(res.headers['retry-after'])) : undefined;
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
function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new Error(`unsupported protocol ${u.protocol}`));
      return;
    }
    const payload = Buffer.from(body, 'utf8');
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'POST', headers: { ...headers, 'content-length': String(payload.length) }, signal },
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

/**
 * A signal that aborts when `outer` does or after `ms`, held strongly until clear(). Not
 * AbortSignal.any([outer, AbortSignal.timeout(ms)]): on Node 20 the timeout signal inside it is
 * weakly held and can be garbage-collected before it fires, leaving a send to a hanging receiver
 * waiting forever (seen: the Slack "hang" test stuck under a full test run's GC pressure).
 */
export function deadline(outer: AbortSignal, ms: number): { signal: AbortSignal; clear(): void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer.reason);
  if (outer.aborted) ac.abort(outer.reason);
  else outer.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  return {
    signal: ac.signal,
    clear() {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    },
  };
}

/** One line, short, printable: response bodies go into logs. */
export function sanitize(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200);
}

function describeRequestError(e: unknown, timeoutMs: number, outer: AbortSignal): string {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (outer.aborted) return 'send aborted (agent stopping)';
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err.code === 'ABORT_ERR' ? undefined : (err.code ?? err.cause?.code);
  if (code) return `connection failed: ${code}`;
  return `request failed: ${sanitize(err.cause?.message ?? err.message)}`;
}
