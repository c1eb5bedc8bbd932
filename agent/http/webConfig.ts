// The exporter-toolkit web config file (`web.config_file`), the file node_exporter and friends take
// with --web.config.file, so sites reuse theirs:
//   tls_server_config: {cert_file, key_file}
//   basic_auth_users: {user: bcrypt hash}
// What it sets overrides web.tls_cert_file / web.tls_key_file / web.basic_auth_users. Relative
// paths are relative to the file, as exporter-toolkit does. Options of exporter-toolkit that
// keepwatch does not implement (client certificates, cipher choices...) are rejected by name: a
// site that asks for client-certificate auth must not silently get none.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import type { TlsConfig } from './server';

const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

const UNSUPPORTED_TLS = ['client_auth_type', 'client_ca_file', 'client_allowed_sans', 'cipher_suites', 'curve_preferences', 'min_version', 'max_version', 'prefer_server_cipher_suites'];

const webConfigFileSchema = z.strictObject({
  tls_server_config: z
    .strictObject({
      cert_file: z.string().min(1),
      key_file: z.string().min(1),
      // Accepted only at their exporter-toolkit defaults (what keepwatch does anyway).
      client_auth_type: z.literal('NoClientCert').optional(),
    })
    .optional(),
  http_server_config: z.strictObject({ http2: z.boolean().optional() }).optional(),
  basic_auth_users: z.record(z.string().min(1), z.string().regex(BCRYPT_RE, 'must be a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)')).optional(),
});

/** The web settings the server runs with, after merging the config file over the config keys. */
export interface WebSettings {
  listenAddress: string;
  tls?: TlsConfig;
  basicAuthUsers?: Record<string, string>;
}

/** Reads and checks an exporter-toolkit web config file; throws ConfigError naming the file and key. */
export function loadWebConfigFile(file: string): { tls?: TlsConfig; basicAuthUsers?: Record<string, string> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`(file): cannot read web config file: ${(e as Error).message}`]);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(file, doc.errors.map((e) => `yaml: ${e.message.split('\n')[0]}`));
  const raw = (doc.toJS() ?? {}) as unknown;
  const problems: string[] = [];
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const tls = (raw as Record<string, unknown>).tls_server_config;
    if (tls && typeof tls === 'object') {
      for (const k of UNSUPPORTED_TLS) {
        if (k in tls && !(k === 'client_auth_type' && (tls as Record<string, unknown>)[k] === 'NoClientCert')) {
          problems.push(`tls_server_config.${k}: not supported by keepwatch (only cert_file and key_file)`);
        }
      }
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  const r = webConfigFileSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(file, r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`));
  const base = dirname(file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const out: { tls?: TlsConfig; basicAuthUsers?: Record<string, string> } = {};
  if (r.data.tls_server_config) out.tls = { certFile: abs(r.data.tls_server_config.cert_file), keyFile: abs(r.data.tls_server_config.key_file) };
  if (r.data.basic_auth_users) out.basicAuthUsers = r.data.basic_auth_users;
  return out;
}

/** The effective web settings of a config: web.* keys, overridden by web.config_file when set. */
export function resolveWebSettings(web: Config['web'], configFile = '<config>'): WebSettings {
  const s: WebSettings = {
    listenAddress: web.listen_address,
    tls: web.tls_cert_file && web.tls_key_file ? { certFile: web.tls_cert_file, keyFile: web.tls_key_file } : undefined,
    basicAuthUsers: web.basic_auth_users,
  };
  if ((web.tls_cert_file === undefined) !== (web.tls_key_file === undefined)) {
    throw new ConfigError(configFile, ['web: tls_cert_file and tls_key_file must be set together']);
  }
  if (web.config_file) {
    const f = loadWebConfigFile(web.config_file);
    if (f.tls) s.tls = f.tls;
    if (f.basicAuthUsers) s.basicAuthUsers = f.basicAuthUsers;
  }
  return s;
}
