// `keepwatch status|silence --http.config.file FILE`: the client certificate (and trust) the CLI
// presents to an agent whose web config asks for client certificates.
// Chosen over --tls.* flags: it is amtool's and promtool's flag and file (Prometheus's HTTP client
// config), so operators reuse the file they have, and the command line shows only its path.
// keepwatch reads its tls_config (ca_file, cert_file, key_file, server_name, insecure_skip_verify),
// relative paths relative to the file as Prometheus does. The other http_config keys are refused by
// name: a file that asks for something must not silently get less.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { parseDocument } from 'yaml';
import { ConfigError } from '../config/load';
import { tlsConfigSchema } from '../config/schema';

/** Prometheus http_config keys keepwatch's CLI does not implement. */
const UNSUPPORTED = ['basic_auth', 'authorization', 'bearer_token', 'bearer_token_file', 'oauth2', 'proxy_url', 'no_proxy', 'proxy_from_environment', 'proxy_connect_header', 'follow_redirects', 'enable_http2', 'http_headers'];

/** What node:https takes for the connection to the agent. */
export interface ClientTls {
  /** Replaces the system CAs (Prometheus's ca_file). */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Reads the file and the certificate, key and CA it names; throws ConfigError naming the file and key, never a file's content. */
export function loadHttpClientConfig(file: string): ClientTls {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`(file): cannot read --http.config.file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(file, doc.errors.map((e) => `yaml: ${e.message.split('\n')[0]}`));
  const raw = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, ['(root): must be a mapping with tls_config']);
  const problems: string[] = [];
  for (const k of Object.keys(raw)) {
    if (k === 'tls_config') continue;
    problems.push(UNSUPPORTED.includes(k) ? `${k}: not supported by keepwatch status/silence (only tls_config)` : `${k}: unknown key`);
  }
  const base = dirname(file);
  const tlsRaw = (raw as Record<string, unknown>).tls_config;
  if (tlsRaw && typeof tlsRaw === 'object' && !Array.isArray(tlsRaw)) {
    for (const k of ['ca_file', 'cert_file', 'key_file'] as const) {
      const v = (tlsRaw as Record<string, unknown>)[k];
      if (typeof v === 'string' && v && !isAbsolute(v)) (tlsRaw as Record<string, unknown>)[k] = resolve(base, v);
    }
  }
  const r = tlsConfigSchema.optional().safeParse(tlsRaw);
  if (!r.success) {
    for (const i of r.error.issues) {
      const at = ['tls_config', ...i.path.map(String)].join('.');
      if (i.code === 'unrecognized_keys') for (const k of i.keys) problems.push(`${at}.${k}: unknown key`);
      else problems.push(`${at}: ${i.message}`);
    }
  }
  if (problems.length || !r.success) throw new ConfigError(file, problems);
  const t = r.data;
  const out: ClientTls = { rejectUnauthorized: !(t?.insecure_skip_verify ?? false) };
  if (!t) return out;
  const read = (key: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(file, [`tls_config.${key}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`]);
    }
  };
  if (t.ca_file) out.ca = read('ca_file', t.ca_file);
  if (t.cert_file && t.key_file) {
    out.cert = read('cert_file', t.cert_file);
    out.key = read('key_file', t.key_file);
  }
  if (t.server_name) out.servername = t.server_name;
  try {
    createSecureContext({ ca: out.ca, cert: out.cert, key: out.key });
  } catch (e) {
    // OpenSSL's reason (e.g. "key values mismatch") names no secret.
    throw new ConfigError(file, [`tls_config: ${(e as Error).message.split('\n')[0]}`]);
  }
  return out;
}
