// The exporter-toolkit web config file, the file node_exporter and friends take with
// --web.config.file, so sites reuse theirs (docs/web-configuration.md of prometheus/exporter-toolkit):
//   tls_server_config: cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans,
//                      min_version, max_version, cipher_suites, prefer_server_cipher_suites, curve_preferences
//   http_server_config: http2, headers
//   basic_auth_users: {user: bcrypt hash}
// It comes from `keepwatch run --web.config.file` or, without the flag, web.config_file. What it sets
// overrides web.tls_cert_file / web.tls_key_file / web.basic_auth_users. Relative paths are relative
// to the file, as exporter-toolkit does. Strict as exporter-toolkit: an unknown key is an error, and
// so is a key keepwatch does not implement (inline cert/key/client_ca, rate_limit), by name: a site
// that asks for something must not silently get less.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { CIPHER_SUITES, CLIENT_AUTH_TYPES, CURVES, TLS_VERSIONS, tlsServerOptions, type TlsConfig } from './tls';

const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** exporter-toolkit's keys that keepwatch does not implement: refused by name. */
const UNSUPPORTED: Record<string, string> = {
  'tls_server_config.cert': 'use cert_file',
  'tls_server_config.key': 'use key_file',
  'tls_server_config.client_ca': 'use client_ca_file',
  rate_limit: 'put a rate limit in a reverse proxy',
};

/** The response headers exporter-toolkit lets a site set, with their allowed values (none listed: any). */
const EXTRA_HEADERS: Record<string, string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

const oneOf = (names: readonly string[], what: string) => z.string().refine((v) => names.includes(v), { message: `unknown ${what} (one of ${names.join(', ')})` });

const webConfigFileSchema = z.strictObject({
  tls_server_config: z
    .strictObject({
      cert_file: z.string().min(1),
      key_file: z.string().min(1),
      client_auth_type: oneOf(CLIENT_AUTH_TYPES, 'client_auth_type').optional(),
      client_ca_file: z.string().min(1).optional(),
      client_allowed_sans: z.array(z.string().min(1)).optional(),
      min_version: oneOf(Object.keys(TLS_VERSIONS), 'TLS version').optional(),
      max_version: oneOf(Object.keys(TLS_VERSIONS), 'TLS version').optional(),
      cipher_suites: z.array(oneOf(Object.keys(CIPHER_SUITES), 'cipher suite')).optional(),
      prefer_server_cipher_suites: z.boolean().optional(),
      curve_preferences: z.array(oneOf(Object.keys(CURVES), 'curve')).optional(),
    })
    .superRefine((t, ctx) => {
      const auth = t.client_auth_type ?? 'NoClientCert';
      // exporter-toolkit's own checks.
      if (t.client_ca_file && auth === 'NoClientCert') ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: 'a client CA without a client_auth_type that asks for certificates' });
      if (t.client_allowed_sans?.length && auth !== 'RequireAnyClientCert' && auth !== 'RequireAndVerifyClientCert')
        ctx.addIssue({ code: 'custom', path: ['client_allowed_sans'], message: 'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (the others let a client in without a certificate)' });
      const order = Object.keys(TLS_VERSIONS);
      if (t.min_version && t.max_version && order.indexOf(t.min_version) > order.indexOf(t.max_version)) ctx.addIssue({ code: 'custom', path: ['max_version'], message: 'lower than min_version' });
    })
    .optional(),
  http_server_config: z
    .strictObject({
      // keepwatch serves HTTP/1.1 only: accepted so shared files load, and ignored.
      http2: z.boolean().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  basic_auth_users: z.record(z.string().min(1), z.string().regex(BCRYPT_RE, 'must be a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)')).optional(),
});

/** What a web config file sets. */
export interface WebConfigFile {
  tls?: TlsConfig;
  basicAuthUsers?: Record<string, string>;
  /** Added to every response (http_server_config.headers). */
  headers?: Record<string, string>;
}

/** The web settings the server runs with, after merging the web config file over the config keys. */
export interface WebSettings extends WebConfigFile {
  listenAddress: string;
}

function headerProblems(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    const allowed = EXTRA_HEADERS[k];
    if (!allowed) out.push(`http_server_config.headers.${k}: this header cannot be configured (only ${Object.keys(EXTRA_HEADERS).join(', ')})`);
    else if (allowed.length && !allowed.includes(v)) out.push(`http_server_config.headers.${k}: must be one of ${allowed.join(', ')}, not ${JSON.stringify(v)}`);
    else if (/[\r\n]/.test(v)) out.push(`http_server_config.headers.${k}: line breaks are not allowed`);
  }
  return out;
}

/**
 * Reads and checks an exporter-toolkit web config file; throws ConfigError naming the file and key.
 * checkFiles (the agent): the certificate, key and CA are loaded too. The CLI, which only connects
 * and may not read the private key, skips that.
 */
export function loadWebConfigFile(file: string, checkFiles = true): WebConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`(file): cannot read web config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  // The YAML parser quotes the offending text, which may be a hash or a key: position only.
  if (doc.errors.length) throw new ConfigError(file, doc.errors.map((e) => `yaml: ${e.message.split('\n')[0].replace(/( in YAML stream): .*$/, '$1')}`));
  const raw = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as unknown;
  const problems: string[] = [];
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [key, why] of Object.entries(UNSUPPORTED)) {
      const [a, b] = key.split('.');
      const holder = b ? (raw as Record<string, unknown>)[a] : raw;
      if (holder && typeof holder === 'object' && (b ?? a) in holder) problems.push(`${key}: not supported by keepwatch (${why})`);
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  const r = webConfigFileSchema.safeParse(raw);
  if (!r.success) {
    for (const i of r.error.issues) {
      const at = i.path.map(String).join('.');
      // Name each unknown key as exporter-toolkit's strict YAML does, not zod's list.
      if (i.code === 'unrecognized_keys') for (const k of i.keys) problems.push(`${at ? `${at}.` : ''}${k}: unknown key`);
      else problems.push(`${at || '(root)'}: ${i.message}`);
    }
    throw new ConfigError(file, problems);
  }
  const base = dirname(file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const out: WebConfigFile = {};
  const t = r.data.tls_server_config;
  if (t) {
    out.tls = {
      certFile: abs(t.cert_file),
      keyFile: abs(t.key_file),
      clientAuth: t.client_auth_type as TlsConfig['clientAuth'],
      clientCaFile: t.client_ca_file === undefined ? undefined : abs(t.client_ca_file),
      clientAllowedSans: t.client_allowed_sans,
      minVersion: t.min_version === undefined ? undefined : TLS_VERSIONS[t.min_version],
      maxVersion: t.max_version === undefined ? undefined : TLS_VERSIONS[t.max_version],
      cipherSuites: t.cipher_suites,
      preferServerCipherSuites: t.prefer_server_cipher_suites,
      curvePreferences: t.curve_preferences,
    };
    if (checkFiles) checkTls(out.tls, file, 'tls_server_config');
  }
  const headers = r.data.http_server_config?.headers;
  if (headers) {
    const hp = headerProblems(headers);
    if (hp.length) throw new ConfigError(file, hp);
    out.headers = headers;
  }
  if (r.data.basic_auth_users) out.basicAuthUsers = r.data.basic_auth_users;
  return out;
}

/** The certificate, key and CA load and fit together (a reload with a broken one is rejected, not half applied). */
function checkTls(tls: TlsConfig, file: string, at: string): void {
  try {
    createSecureContext(tlsServerOptions(tls));
  } catch (e) {
    // OpenSSL's reason names no secret (e.g. "key values mismatch").
    const msg = (e as Error).message.split('\n')[0];
    throw new ConfigError(file, [/^(cert_file|key_file|client_ca_file):/.test(msg) ? `${at}.${msg}` : `${at}: ${msg}`]);
  }
}

/**
 * The effective web settings: web.* keys, overridden by the web config file: `webConfigFile` (the
 * run flag) when given, else web.config_file.
 */
export function resolveWebSettings(web: Config['web'], configFile = '<config>', webConfigFile?: string, checkFiles = true): WebSettings {
  if ((web.tls_cert_file === undefined) !== (web.tls_key_file === undefined)) {
    throw new ConfigError(configFile, ['web: tls_cert_file and tls_key_file must be set together']);
  }
  const s: WebSettings = {
    listenAddress: web.listen_address,
    tls: web.tls_cert_file && web.tls_key_file ? { certFile: web.tls_cert_file, keyFile: web.tls_key_file } : undefined,
    basicAuthUsers: web.basic_auth_users,
  };
  if (s.tls && checkFiles) checkTls(s.tls, configFile, 'web.tls_cert_file/tls_key_file');
  const file = webConfigFile ?? web.config_file;
  if (file) {
    const f = loadWebConfigFile(file, checkFiles);
    if (f.tls) s.tls = f.tls;
    if (f.basicAuthUsers) s.basicAuthUsers = f.basicAuthUsers;
    if (f.headers) s.headers = f.headers;
  }
  return s;
}
