// Secrets from files. Every secret a receiver uses can be given as `<key>_file`: an absolute path
// whose content (one trailing newline dropped) is the secret. Why: the hook's fallback pager runs
// under keepalived, whose environment has none of the agent's ${VARS}; a file is the one source
// both read. The agent itself, unprivileged, may get the file from systemd's LoadCredential= (see
// deploy/systemd/keepwatch.service): when $CREDENTIALS_DIRECTORY holds a file named like the
// path's base name, that copy is read instead, so the original can stay root-only (0600).
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Per receiver type, the keys that are secrets (a key under basic_auth is written basic_auth.key).
 * Not here, though read through secretFilePath too: Slack's token_file (the Slack receiver reads it
 * when it is built) and the Alertmanager receiver's basic_auth.password_file and bearer_token_file
 * (read at each send, so a rotated secret needs no restart).
 */
export const SECRET_KEYS: Record<string, string[]> = {
  slack: ['webhook_url'],
  email: ['auth_password'],
  webhook: ['url', 'hmac_secret'],
  alertmanager: ['url'],
};

/** The file a `*_file` key names, as this process should read it (the systemd credential when there is one). */
export function secretFilePath(file: string, env: NodeJS.ProcessEnv): string {
  const creds = env.CREDENTIALS_DIRECTORY;
  if (creds) {
    const copy = path.join(creds, path.basename(file));
    if (existsSync(copy)) return copy;
  }
  return file;
}

/** Reads one secret file; a problem names the key and the file, never the content. */
function readSecret(file: unknown, where: string, env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  if (typeof file !== 'string' || !path.isAbsolute(file)) {
    problems.push(`${where}: must be an absolute path`);
    return undefined;
  }
  const from = secretFilePath(file, env);
  let text: string;
  try {
    text = readFileSync(from, 'utf8');
  } catch (e) {
    problems.push(`${where}: cannot read ${from}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    return undefined;
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) {
    problems.push(`${where}: ${from} is empty`);
    return undefined;
  }
  return secret;
}

/** Replaces each receiver's `<secret>_file` by `<secret>` read from the file (raw config, before validation). */
export function resolveSecretFiles(raw: unknown, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  const receivers = (raw as { alerting?: { receivers?: unknown } })?.alerting?.receivers;
  if (!Array.isArray(receivers)) return raw;
  receivers.forEach((r: unknown, i) => {
    if (!r || typeof r !== 'object') return;
    const rec = r as Record<string, unknown>;
    for (const key of SECRET_KEYS[String(rec.type)] ?? []) {
      const parts = key.split('.');
      const leaf = parts.pop()!;
      let holder: Record<string, unknown> | undefined = rec;
      for (const p of parts) holder = holder?.[p] && typeof holder[p] === 'object' ? (holder[p] as Record<string, unknown>) : undefined;
      if (!holder || !(`${leaf}_file` in holder)) continue;
      const where = ['alerting', 'receivers', i, ...parts, `${leaf}_file`].join('.');
      if (holder[leaf] !== undefined) {
        problems.push(`${where}: set ${leaf} or ${leaf}_file, not both`);
        continue;
      }
      const secret = readSecret(holder[`${leaf}_file`], where, env, problems);
      delete holder[`${leaf}_file`];
      if (secret !== undefined) holder[leaf] = secret;
    }
  });
  return raw;
}
