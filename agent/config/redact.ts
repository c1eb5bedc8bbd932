// The config as it may be shown (status page, API, logs, CLI output): every secret replaced.
// Secrets: tokens, passwords, HMAC secrets, Slack webhook URLs (the URL is the credential),
// custom webhook headers (they carry Authorization), user:password in any URL, and the path
// and query of generic webhook URLs (services put tokens there) and of the heartbeat URL (a dead
// man's switch URL is its own credential).
import type { Config } from './schema';

export const SECRET = '<secret>';

const SECRET_KEYS = /^(password|auth_password|secret|hmac_secret|token|api_token|peer_token|bearer_token|credentials|webhook_url|authorization|auth_pass|auth_data)$/i;

function redactUrl(u: string, keepPath: boolean): string {
  try {
    const url = new URL(u);
    const auth = url.username || url.password ? `${SECRET}@` : '';
    const rest = !keepPath && (url.pathname !== '/' || url.search) ? `/${SECRET}` : `${url.pathname}${url.search ? `?${SECRET}` : ''}`;
    return `${url.protocol}//${auth}${url.host}${rest}`;
  } catch {
    return SECRET;
  }
}

function walk(v: unknown, key: string, parent: Record<string, unknown> | undefined, parentKey = ''): unknown {
  if (typeof v === 'string') {
    if (SECRET_KEYS.test(key)) return SECRET;
    if (key === 'url') return redactUrl(v, parent?.type !== 'webhook' && parentKey !== 'heartbeat');
    if (key === 'urls') return redactUrl(v, true);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, key, parent, parentKey));
  if (v && typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(obj)) {
      if (k === 'headers' && x && typeof x === 'object') out[k] = Object.fromEntries(Object.keys(x).map((h) => [h, SECRET]));
      else if (k === 'basic_auth_users' && x && typeof x === 'object') out[k] = Object.fromEntries(Object.keys(x).map((u) => [u, SECRET]));
      else out[k] = walk(x, k, obj, key);
    }
    return out;
  }
  return v;
}

/** A deep copy of the config (or any part of it) with every secret replaced by `<secret>`. */
export function redactConfig<T = Config>(config: T): T {
  return walk(config, '', undefined) as T;
}
