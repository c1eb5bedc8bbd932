// One request to the local agent over http or https, for the CLI. node:http(s) rather than fetch:
// the agent's certificate, read from its config, must be trusted for this one connection (fetch
// takes no TLS options), its name need not match the loopback address the CLI connects to, and a
// client certificate (--http.config.file) may have to be shown.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { rootCertificates } from 'node:tls';
import { trustPinned } from '../http/pinnedCertificate';
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

/** The TLS options for the target: its --http.config.file, and the agent's own certificate trusted. */
function tlsOptions(t: AgentTarget): RequestOptions {
  const c = t.clientTls;
  const own = t.serverCert ? trustPinned(t.serverCert, c?.ca ? [c.ca] : [...rootCertificates]) : undefined;
  return {
    ...(c ? { cert: c.cert, key: c.key, servername: c.servername, rejectUnauthorized: c.rejectUnauthorized, ca: c.ca } : {}),
    ...own,
  };
}

/** Why the handshake may have failed, when the agent asks for a client certificate and none is shown. */
function clientCertHint(t: AgentTarget): string {
  return t.clientCertRequired && !t.clientTls?.cert ? ` (the agent asks for a client certificate: ${t.clientCertRequired}; give one in tls_config of --http.config.file)` : '';
}

export function agentRequest(t: AgentTarget, method: string, path: string, o: AgentRequestOptions = {}): Promise<AgentResponse> {
  const url = new URL(`${t.base}${path}`);
  const https = url.protocol === 'https:';
  const tlsOpts = https ? tlsOptions(t) : {};
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
      const hint = https && e.code !== 'ABORT_ERR' ? clientCertHint(t) : '';
      reject(new Error((e.code && e.code !== 'ABORT_ERR' ? `${e.code}${e.message.includes(e.code) ? '' : `: ${e.message}`}` : e.message) + hint));
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
