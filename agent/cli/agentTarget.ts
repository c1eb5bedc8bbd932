// Where `keepwatch status` and `keepwatch silence` find the local agent, and with what credentials,
// as an operator on the node expects: from the agent's own config (--config.file, default
// /etc/keepwatch/keepwatch.yml): web.listen_address (0.0.0.0 or :: means loopback), TLS from
// web.tls_cert_file or the web config file (its certificate is trusted for this connection), and
// alerting.api_token. The client certificate an agent may ask for comes from --http.config.file
// (httpClientConfig.ts). --agent.url, then env KEEPWATCH_AGENT_URL, win over the config's address;
// basic-auth credentials come only from KEEPWATCH_AGENT_URL (the config holds only their hashes,
// and a command line is readable by every local user). A missing default config means today's
// defaults; a config given explicitly must exist and be valid.
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfigDocument, validateConfig } from '../config/load';
import { resolveWebSettings } from '../http/webConfig';
import { parseListenAddress } from '../http/server';
import { requiresClientCert } from '../http/tls';
import { loadHttpClientConfig, type ClientTls } from './httpClientConfig';

import { DEFAULT_CONFIG_FILE } from './commands';

export const DEFAULT_AGENT_URL = 'http://127.0.0.1:9723';

export interface AgentTarget {
  /** scheme://host:port, without credentials or trailing slash. */
  base: string;
  /** From KEEPWATCH_AGENT_URL's user:password@. */
  basic?: { user: string; pass: string };
  /** alerting.api_token of the config. */
  apiToken?: string;
  /** Why the config's api token could not be read (e.g. an unset ${VAR}); names the key, never a value. */
  apiTokenProblem?: string;
  /** The agent's certificate (PEM), from its config: trusted for this connection whatever name it carries. */
  serverCert?: string;
  /** The config read, if any (for messages). */
  configFile?: string;
  /** The agent asks for basic auth on its read endpoints. */
  basicAuthConfigured?: boolean;
  /** What --http.config.file gives: the client certificate, CA, server name. */
  clientTls?: ClientTls;
  /** The agent refuses clients without a certificate: its client_auth_type and the file that sets it (for messages). */
  clientCertRequired?: string;
}

export interface TargetOptions {
  /** --agent.url. */
  agentUrl?: string;
  configFile?: string;
  /** --config.file was given (a missing file is then an error). */
  configFileGiven?: boolean;
  /** --web.config.file, when the agent runs with it. */
  webConfigFile?: string;
  /** --http.config.file: the CLI's own client TLS. */
  httpConfigFile?: string;
  env: NodeJS.ProcessEnv;
}

/** A URL's base and its user:password@, apart (fetch and request options refuse credentials in URLs). */
export function targetFromUrl(url: string): AgentTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The text may hold a password: not repeated.
    throw new ConfigError('agent URL', ['not a URL (expected http(s)://host:port)']);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('agent URL', [`${u.protocol} is not http: or https:`]);
  const t: AgentTarget = { base: '' };
  if (u.username || u.password) t.basic = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  u.username = '';
  u.password = '';
  t.base = u.toString().replace(/\/+$/, '');
  return t;
}

/** Where to connect for a listen address: the wildcard addresses mean this host, over loopback. */
export function connectHost(listenAddress: string): string {
  const { host } = parseListenAddress(listenAddress);
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '::0') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Resolves the agent to ask; throws ConfigError naming the file for a bad config. */
export function resolveAgentTarget(o: TargetOptions): AgentTarget {
  const file = o.configFile ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (o.configFileGiven || code !== 'ENOENT') throw new ConfigError(file, [`(file): cannot read: ${code ?? (e as Error).message}`]);
  }
  const url = o.agentUrl ?? o.env.KEEPWATCH_AGENT_URL;
  const clientTls = o.httpConfigFile === undefined ? undefined : loadHttpClientConfig(o.httpConfigFile);
  if (text === undefined) return { ...targetFromUrl(url ?? DEFAULT_AGENT_URL), ...(clientTls ? { clientTls } : {}) };

  // Only what connecting needs: a receiver's secret file the operator cannot read, or a ${VAR}
  // only the agent's unit sets, must not stop `keepwatch status`.
  const raw = parseConfigDocument(text, file);
  const cfg = validateConfig({ node: raw.node, ...('web' in raw ? { web: raw.web } : {}) }, file, o.env);
  const web = resolveWebSettings(cfg.web, file, o.webConfigFile, false);
  const t: AgentTarget = url !== undefined ? targetFromUrl(url) : { base: `${web.tls ? 'https' : 'http'}://${connectHost(web.listenAddress)}:${parseListenAddress(web.listenAddress).port}` };
  t.configFile = file;
  t.basicAuthConfigured = Boolean(web.basicAuthUsers && Object.keys(web.basicAuthUsers).length);
  if (web.tls) t.serverCert = readText(web.tls.certFile);
  if (clientTls) t.clientTls = clientTls;
  if (requiresClientCert(web.tls)) t.clientCertRequired = `client_auth_type ${web.tls!.clientAuth} of ${o.webConfigFile ?? cfg.web.config_file}`;
  const alerting = raw.alerting as Record<string, unknown> | undefined;
  if (alerting && typeof alerting === 'object' && alerting.api_token !== undefined) {
    try {
      t.apiToken = validateConfig({ node: raw.node, alerting: { api_token: alerting.api_token } }, file, o.env).alerting.api_token;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      t.apiTokenProblem = e.problems.join('; ');
    }
  }
  return t;
}
