// Alertmanager's label matchers: `name=value`, `name!=value`, `name=~regex`, `name!~regex`, values
// bare or double-quoted (Go escapes \" \\ \n), regexes anchored at both ends like Alertmanager's.
// Hand-rolled because no npm package implements Alertmanager's matcher grammar, and it is small.

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
  matches(labels: Record<string, string>): boolean;
  /** Alertmanager's canonical form: name="value" (value always quoted). */
  toString(): string;
}

/** Alertmanager API v2's JSON shape of a matcher (silences). */
export interface MatcherJson {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export class MatcherParseError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`bad matcher ${JSON.stringify(input)}: ${reason}`);
    this.name = 'MatcherParseError';
  }
}

// Alertmanager accepts UTF-8 label names when quoted; we accept Prometheus label names, and
// dots/dashes since people write them in ad-hoc labels.
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

export function createMatcher(name: string, type: MatchType, value: string): Matcher {
  if (!NAME_RE.test(name)) throw new MatcherParseError(`${name}${type}${value}`, `"${name}" is not a valid label name`);
  let re: RegExp | undefined;
  if (type === '=~' || type === '!~') {
    try {
      // Anchored like Alertmanager: `^(?:re)$`, so `node=~ka` does not match `ka1`.
      re = new RegExp(`^(?:${value})$`);
    } catch (e) {
      throw new MatcherParseError(`${name}${type}"${value}"`, `invalid regular expression: ${(e as Error).message}`);
    }
  }
  return {
    name,
    type,
    value,
    matches(labels) {
      const v = Object.prototype.hasOwnProperty.call(labels, name) ? labels[name] : '';
      switch (type) {
        case '=':
          return v === value;
        case '!=':
          return v !== value;
        case '=~':
          return re!.test(v);
        case '!~':
          return !re!.test(v);
      }
    },
    toString() {
      return `${name}${type}${quote(value)}`;
    },
  };
}

/** A matcher's canonical text (`name="value"`) without checking it (parseMatcher checks). */
export function matcherText(name: string, type: MatchType, value: string): string {
  return `${name}${type}${quote(value)}`;
}

function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function unquote(raw: string, input: string): string {
  let out = '';
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i];
    if (c === '\\') {
      const n = raw[++i];
      if (n === undefined || i >= raw.length - 1) throw new MatcherParseError(input, 'dangling backslash in quoted value');
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else if (c === '"') {
      throw new MatcherParseError(input, 'unescaped " inside quoted value');
    } else out += c;
  }
  return out;
}

const MATCHER_RE = /^\s*([^\s=!~"]+)\s*(=~|!~|!=|=)\s*([\s\S]*?)\s*$/;

/** Parses one matcher: `severity="critical"`, `vrid=51`, `alertname=~"Split.*"`, `node!=ka2`. */
export function parseMatcher(input: string): Matcher {
  const m = MATCHER_RE.exec(input);
  if (!m) throw new MatcherParseError(input, 'expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX');
  const [, name, op, rawValue] = m;
  let value = rawValue;
  if (value.startsWith('"')) {
    if (value.length < 2 || !value.endsWith('"')) throw new MatcherParseError(input, 'unterminated quoted value');
    value = unquote(value, input);
  } else if (value.includes('"')) {
    throw new MatcherParseError(input, 'a value with " must be quoted as a whole');
  }
  return createMatcher(name, op as MatchType, value);
}

/**
 * Parses a list of matchers as Alertmanager's amtool takes it: `{a="b", c=~"d"}` or `a=b,c=~d`
 * (commas inside quoted values are kept). An empty `{}` is an empty list.
 */
export function parseMatchers(input: string): Matcher[] {
  let s = input.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new MatcherParseError(input, 'missing closing }');
    s = s.slice(1, -1);
  }
  const parts: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inQuote && c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    if (c === ',' && !inQuote) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (inQuote) throw new MatcherParseError(input, 'unterminated quoted value');
  parts.push(cur);
  return parts.filter((p) => p.trim() !== '').map(parseMatcher);
}

export function matchesAll(matchers: readonly Matcher[], labels: Record<string, string>): boolean {
  for (const m of matchers) if (!m.matches(labels)) return false;
  return true;
}

/** `{a="b", c=~"d"}` as Alertmanager prints a matcher list (used in route keys). */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map(String).join(', ')}}`;
}

export function matcherToJson(m: Matcher): MatcherJson {
  return { name: m.name, value: m.value, isRegex: m.type === '=~' || m.type === '!~', isEqual: m.type === '=' || m.type === '=~' };
}

export function matcherFromJson(j: MatcherJson): Matcher {
  const type: MatchType = j.isRegex ? (j.isEqual === false ? '!~' : '=~') : j.isEqual === false ? '!=' : '=';
  return createMatcher(j.name, type, j.value);
}
