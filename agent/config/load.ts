// Reads keepwatch.yml: YAML -> ${ENV} substitution on string values -> receivers' secrets from
// their *_file keys (secretFiles.ts) -> zod. Every problem is
// reported as `path.to.key: what is wrong`, all of them at once, never just the first.
import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter } from 'yaml';
import { configSchema, type Config } from './schema';
import { resolveSecretFiles } from './secretFiles';

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`invalid config ${file}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Keys whose values become a command line, which every user of the host can read (ps): an
 *  environment variable there is most likely a secret, and refused. */
const NO_ENV_UNDER = ['keepalived.check_script.command'];

/** Replaces ${VAR} in every string value (not in keys); a missing variable is a problem at that key. */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[], problems: string[]): unknown {
  if (typeof value === 'string') {
    const where = path.join('.');
    if (NO_ENV_UNDER.some((p) => where === p || where.startsWith(`${p}.`)) && new RegExp(ENV_RE.source).test(value)) {
      problems.push(`${where}: \${...} is not expanded in a command line (visible to every user): let the script read what it needs from a file`);
      return value;
    }
    return value.replace(ENV_RE, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${path.join('.') || '(root)'}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, String(i)], problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

/** Parses config text; throws ConfigError listing every problem. */
export function parseConfig(text: string, file = '<config>', env: NodeJS.ProcessEnv = process.env): Config {
  return validateConfig(parseConfigDocument(text, file), file, env);
}

/** YAML to a plain object (no substitution, no validation); throws ConfigError. */
export function parseConfigDocument(text: string, file = '<config>'): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.pos ? lineCounter.linePos(e.pos[0]) : undefined;
        // yaml quotes the offending source text ("Unexpected scalar token in YAML stream: \"<text>\""):
        // that text may be a token or password, and this message is logged: keep line and column only.
        const msg = e.message.split('\n')[0].replace(/( in YAML stream): .*$/, '$1');
        return `${pos ? `line ${pos.line} column ${pos.col}` : 'yaml'}: ${msg}`;
      }),
    );
  }
  let raw: unknown;
  try {
    // An alias with no anchor (`*x`) or an alias bomb passes the parse and throws here.
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    throw new ConfigError(file, [`yaml: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, ['(root): must be a mapping of keys']);
  return raw as Record<string, unknown>;
}

/** Substitution, secret files and validation of a parsed config (or of a part of one: the rest takes its defaults). */
export function validateConfig(raw: Record<string, unknown>, file = '<config>', env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const substituted = resolveSecretFiles(substituteEnv(raw, env, [], problems), env, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.map(String).join('.') || '(root)';
      problems.push(`${path}: ${issue.message}`);
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  return result.data as Config;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`(file): cannot read: ${(e as Error).message}`]);
  }
  return parseConfig(text, file, env);
}
