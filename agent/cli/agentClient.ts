// One request to the local agent over http or https, for the CLI. node:http(s) rather than fetch:
// the agent's certificate, read from its config, must be trusted for this one connection (fetch
// takes no TLS options), and its name need not match the loopback address the CLI connects to.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AgentTarget } from './agentTarget';

export interface AgentResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as a stream (server-sent events). */
  body: IncomingMessage;
  /** The whole body as text. */
  text(): Promise<string>;
}

export interface AgentRequestOptions {
  headers?: Record<string, string>;
  body?: string;
  /** Until the answer's headers, or with stream false (default) its whole body. */
  timeoutMs?: number;
  /** The body will be read as a stream: the timeout ends with the headers. */
  stream?: boolean;
  signal?: AbortSignal;
}

/** The pinned certificate's SHA-256 fingerprint, as node prints a peer's (AA:BB:...). */
function fingerprint(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
}

export function agentRequest(t: AgentTarget, method: string, path: string, o: AgentRequestOptions = {}): Promise<AgentResponse> {
  const url = new URL(`${t.base}${path}`);
  const https = url.protocol === 'https:';
  const pinned = https && t.serverCert ? fingerprint(t.serverCert) : undefined;
  const tlsOpts = pinned
    ? {
        // The system's CAs and the agent's own certificate (self-signed, or a leaf of a private CA).
        ca: [...rootCertificates, t.serverCert!],
        // The agent's own certificate is good for whatever address reaches it; any other is checked by name.
        checkServerIdentity: (host: string, cert: PeerCertificate) => (cert.fingerprint256 === pinned ? undefined : checkServerIdentity(host, cert)),
      }
    : {};
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method, headers: o.headers, signal: o.signal, agent: false, ...tlsOpts }, (res) => {
      if (o.stream) clearTimeout(timer);
      res.on('close', () => clearTimeout(timer));
      // A stream cut by the timeout or the signal must not become an unhandled error.
      res.on('error', () => undefined);
      let text: Promise<string> | undefined;
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: res,
        text: () =>
          (text ??= new Promise<string>((ok, fail) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              clearTimeout(timer);
              ok(Buffer.concat(chunks).toString('utf8'));
            });
            res.on('error', fail);
          })),
      });
    });
    const timer = o.timeoutMs ? setTimeout(() => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)), o.timeoutMs) : undefined;
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code && e.code !== 'ABORT_ERR' ? `${e.code}${e.message.includes(e.code) ? '' : `: ${e.message}`}` : e.message));
    });
    req.end(o.body);
  });
}

/** The Authorization header for the target: basic (from KEEPWATCH_AGENT_URL) for the read endpoints, else the api token. */
export function readAuthorization(t: AgentTarget): Record<string, string> {
  if (t.basic) return { authorization: `Basic ${Buffer.from(`${t.basic.user}:${t.basic.pass}`).toString('base64')}` };
  if (t.apiToken) return { authorization: `Bearer ${t.apiToken}` };
  return {};
}
