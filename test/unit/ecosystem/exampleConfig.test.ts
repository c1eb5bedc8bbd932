// deploy/keepwatch.example.yml: it is a valid config as shipped, and with its optional settings
// uncommented it is still valid and shows every key of the schema (walked from the zod schema,
// so a key added to agent/config/schema.ts without documenting it here fails this test).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../../agent/config/load';
import { configSchema } from '../../../agent/config/schema';

const FILE = join(__dirname, '../../../deploy/keepwatch.example.yml');
const text = readFileSync(FILE, 'utf8');
const env = {
  SLACK_WEBHOOK_URL: 'https://hooks.example.com/services/T000/B000/XXXX',
  SLACK_BOT_TOKEN: 'xoxb-0000-0000-XXXX',
  SMTP_PASSWORD: 'smtp-secret',
  WEBHOOK_HMAC_SECRET: 'hmac-secret',
  ALERTMANAGER_PASSWORD: 'am-secret',
  ALERTMANAGER_TOKEN: 'am-token',
  KEEPWATCH_PEER_TOKEN: 'a-peer-token-of-32-characters-xx',
  KEEPWATCH_PEER_TOKEN_KA2: 'another-peer-token-of-32-chars-x',
  KEEPWATCH_API_TOKEN: 'an-api-token-of-enough-length',
};

/** Settings left off are `#key: value` (no space after #); explanations are `# text`. */
export function uncommentSettings(src: string): string {
  return src
    .split('\n')
    .map((line) => line.replace(/^(\s*)#(?! \S)(?=\S|\s{2,}\S)/, '$1'))
    .join('\n');
}

interface ZDef { type: string; [k: string]: unknown }
type Z = { _zod: { def: ZDef } };
const def = (s: unknown) => (s as Z)._zod.def;

/** zod caches a lazy schema's result (the getter itself builds a new schema on every call). */
const lazyInner = (s: unknown) => (s as { _zod: { innerType: unknown } })._zod.innerType;

interface Coverage { path: string; keys: string[]; seen: Set<string> }

/** Walks the schema and the document together, recording which keys of each object schema appear. */
function walk(schema: unknown, value: unknown, path: string, cov: Map<unknown, Coverage>): void {
  const d = def(schema);
  switch (d.type) {
    case 'object': {
      const shape = d.shape as Record<string, unknown>;
      let c = cov.get(schema);
      if (!c) cov.set(schema, (c = { path, keys: Object.keys(shape), seen: new Set() }));
      if (!value || typeof value !== 'object' || Array.isArray(value)) return;
      for (const [k, v] of Object.entries(value)) {
        c.seen.add(k);
        if (k in shape) walk(shape[k], v, path ? `${path}.${k}` : k, cov);
      }
      return;
    }
    case 'default': case 'optional': case 'nullable': case 'prefault': case 'readonly': case 'catch': case 'nonoptional':
      return walk(d.innerType, value, path, cov);
    case 'lazy':
      return walk(lazyInner(schema), value, path, cov);
    case 'pipe':
      return walk(d.in, value, path, cov);
    case 'array':
      if (Array.isArray(value)) value.forEach((v, i) => walk(d.element, v, `${path}[${i}]`, cov));
      return;
    case 'record':
      if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(d.valueType, v, `${path}.${k}`, cov);
      return;
    case 'union': {
      const options = d.options as unknown[];
      const disc = d.discriminator as string | undefined;
      for (const option of options) {
        // A receiver that normalises itself (a transform) is a pipe around its object schema.
        const o = def(option).type === 'pipe' ? def(option).in : option;
        if (def(o).type !== 'object') continue;
        if (disc) {
          const lit = def((def(o).shape as Record<string, unknown>)[disc]);
          const values = (lit.values as unknown[]) ?? [];
          const v = value && typeof value === 'object' ? (value as Record<string, unknown>)[disc] : undefined;
          if (!values.includes(v)) {
            if (!cov.has(o)) cov.set(o, { path: `${path}<${disc}=${String(values[0])}>`, keys: Object.keys(def(o).shape as object), seen: new Set() });
            continue;
          }
        }
        walk(o, value, path, cov);
      }
      return;
    }
    default:
      return;
  }
}

/** Every object schema reachable from the root, each once. */
function allObjects(schema: unknown, seen = new Set<unknown>(), out = new Set<unknown>()): Set<unknown> {
  if (seen.has(schema)) return out;
  seen.add(schema);
  const d = def(schema);
  if (d.type === 'object') {
    out.add(schema);
    for (const s of Object.values(d.shape as Record<string, unknown>)) allObjects(s, seen, out);
  }
  for (const k of ['innerType', 'in', 'element', 'valueType']) if (d[k]) allObjects(d[k], seen, out);
  if (d.type === 'lazy') allObjects(lazyInner(schema), seen, out);
  if (d.type === 'union') for (const o of d.options as unknown[]) allObjects(o, seen, out);
  return out;
}

describe('deploy/keepwatch.example.yml', () => {
  test('is a valid config as shipped', () => {
    const cfg = parseConfig(text, FILE, env);
    expect(cfg.node).toBe('ka1');
    // Shipped values equal the defaults where the file says so.
    expect(cfg.web.listen_address).toBe(':9723');
    expect(cfg.keepalived.dumps.interval).toBe(15_000);
  });

  test('with the optional settings uncommented, it is still valid', () => {
    const full = uncommentSettings(text);
    expect(full).toMatch(/^ {2}tls_cert_file: /m);
    expect(full).toMatch(/^ {4}prometheus: \$2b\$/m);
    expect(full).toMatch(/^# This node's name/m); // explanations stay comments
    const cfg = parseConfig(full, `${FILE} (uncommented)`, env);
    expect(cfg.peers?.[0]).toMatchObject({ name: 'ka2' });
    expect(cfg.web.config_file).toBe('/etc/keepwatch/web-config.yml');
  });

  test('shows every key of the schema (every object schema, every key at least once)', () => {
    const doc = parse(uncommentSettings(text)) as unknown;
    const cov = new Map<unknown, Coverage>();
    walk(configSchema, doc, '', cov);
    const missing: string[] = [];
    for (const o of allObjects(configSchema)) {
      const c = cov.get(o);
      if (!c) {
        missing.push(`(an object with keys ${Object.keys(def(o).shape as object).join(', ')}) never appears`);
        continue;
      }
      for (const k of c.keys) if (!c.seen.has(k)) missing.push(`${c.path ? `${c.path}.` : ''}${k}`);
    }
    expect(missing).toEqual([]);
  });

  test('every key is explained: a comment line precedes each top-level section', () => {
    const lines = uncommentSettings(text).split('\n');
    for (const k of Object.keys(def(configSchema).shape as object)) {
      const i = lines.findIndex((l) => l.startsWith(`${k}:`));
      expect({ key: k, found: i >= 0 }).toEqual({ key: k, found: true });
      expect({ key: k, comment: lines[i - 1].startsWith('#') || lines[i - 1].trim() === '' && lines[i - 2]?.startsWith('#') }).toEqual({ key: k, comment: true });
    }
  });
});
