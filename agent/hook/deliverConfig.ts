// What the fallback pager reads of keepwatch.yml: the node's name, the receivers and their route,
// external_url, and the hook's spool and socket. Nothing else is substituted or validated: the
// deliverer runs under keepalived, whose environment has none of the agent's ${VARS}, and a
// secret it never uses (peer_token, the web's basic auth) must not stop it from paging. The
// receivers' own secrets come from their *_file keys (agent/config/secretFiles.ts).
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfigDocument, validateConfig } from '../config/load';
import type { Config } from '../config/schema';

/** The environment keepalived runs its notify scripts with (its own, from systemd): no ${VARS} of ours. */
export const KEEPALIVED_SCRIPT_ENV: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

function pick(v: unknown, keys: string[]): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** The deliverer's part of the config (everything else at its defaults); throws ConfigError naming every problem. */
export function loadDeliverConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`(file): cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  const raw = parseConfigDocument(text, file);
  const part: Record<string, unknown> = { node: raw.node };
  if ('alerting' in raw) part.alerting = pick(raw.alerting, ['receivers', 'route', 'external_url']);
  if ('keepalived' in raw) part.keepalived = pick(raw.keepalived, ['hook_spool', 'hook_socket']);
  return validateConfig(part, file, env);
}
