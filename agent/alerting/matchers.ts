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

/** Longest regex a matcher may hold. */
export const MAX_REGEX_LENGTH = 256;
/** Most unbounded quantifiers (`*`, `+`, `{n,}`) in one regex: keeps the polynomial worst case small. */
export const MAX_UNBOUNDED_QUANTIFIERS = 3;

/**
 * Why a regex is outside the safe subset, or undefined. A vetted subset rather than the re2 package
 * (a native build every install would need): no backreferences or lookarounds, and no repeated
 * group that itself repeats or alternates, which is what makes V8's backtracking exponential
 * (`(.*.*)*Q`, `(a|a)*b`); a length cap and few unbounded quantifiers bound the polynomial rest.
 */
export function unsafeRegexReason(re: string): string | undefined {
  if (re.length > MAX_REGEX_LENGTH) return `longer than ${MAX_REGEX_LENGTH} characters`;
  interface Group {
    repeats: boolean;
    alternates: boolean;
  }
  const stack: Group[] = [{ repeats: false, alternates: false }];
  let unbounded = 0;
  /** A quantifier at i: its length, and whether it repeats without bound or more than once. */
  const quantifierAt = (i: number): { len: number; unbounded: boolean; repeats: boolean } | undefined => {
    const c = re[i];
    let len = 0;
    let unb = false;
    let rep = false;
    if (c === '*' || c === '+') [len, unb, rep] = [1, true, true];
    else if (c === '?') [len, unb, rep] = [1, false, false];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(i));
      if (!m) return undefined;
      len = m[0].length;
      unb = m[2] !== undefined && m[3] === '';
      rep = unb || Number(m[3] ?? m[1]) > 1;
    } else return undefined;
    if (re[i + len] === '?') len++; // lazy: same cost
    return { len, unbounded: unb, repeats: rep };
  };
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    const top = stack[stack.length - 1];
    if (c === '\\') {
      const n = re[i + 1];
      if (n !== undefined && /[1-9]/.test(n)) return 'backreferences are not supported';
      if (n === 'k' && re[i + 2] === '<') return 'backreferences are not supported';
      i++;
    } else if (c === '[') {
      // A class: skip to its closing bracket (escapes inside kept).
      let j = i + 1;
      if (re[j] === '^') j++;
      if (re[j] === ']') j++;
      while (j < re.length && re[j] !== ']') j += re[j] === '\\' ? 2 : 1;
      i = j;
    } else if (c === '(') {
      if (/^\(\?(=|!|<=|<!)/.test(re.slice(i))) return 'lookarounds are not supported';
      stack.push({ repeats: false, alternates: false });
      continue;
    } else if (c === ')') {
      if (stack.length === 1) return undefined; // unbalanced: the RegExp constructor says so
      const g = stack.pop()!;
      const parent = stack[stack.length - 1];
      const q = quantifierAt(i + 1);
      if (q?.repeats && (g.repeats || g.alternates)) return 'a repeated group may not itself repeat or alternate (nested quantifiers backtrack exponentially)';
      parent.repeats ||= g.repeats || Boolean(q?.repeats);
      if (q) {
        if (q.unbounded) unbounded++;
        i += q.len;
      }
      continue;
    } else if (c === '|') {
      top.alternates = true;
      continue;
    }
    const q = quantifierAt(i + 1);
    if (q) {
      stack[stack.length - 1].repeats ||= q.repeats;
      if (q.unbounded) unbounded++;
      i += q.len;
    }
    if (unbounded > MAX_UNBOUNDED_QUANTIFIERS) return `more than ${MAX_UNBOUNDED_QUANTIFIERS} unbounded quantifiers (*, +, {n,})`;
  }
  if (unbounded > MAX_UNBOUNDED_QUANTIFIERS) return `more than ${MAX_UNBOUNDED_QUANTIFIERS} unbounded quantifiers (*, +, {n,})`;
  return undefined;
}

export function createMatcher(name: string, type: MatchType, value: string): Matcher {
  if (!NAME_RE.test(name)) throw new MatcherParseError(`${name}${type}${value}`, `"${name}" is not a valid label name`);
  let re: RegExp | undefined;
  if (type === '=~' || type === '!~') {
    const unsafe = unsafeRegexReason(value);
    if (unsafe) throw new MatcherParseError(`${name}${type}"${value.slice(0, 80)}"`, `regular expression refused: ${unsafe}`);
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

/**
 * Whether a list of matchers would select every alert: each matcher accepts every probe value
 * (alertname is never empty, other labels may be absent). Probes are varied and include a fresh
 * random one, so a regex cannot pass by excluding the fixed ones. Used to refuse, unless forced,
 * silences like `alertname=~".+"` that would mute every page.
 */
export function matchesEveryAlert(matchers: readonly Matcher[], random: string): boolean {
  if (matchers.length === 0) return true;
  const probes = ['a', 'SplitBrain', 'NoMaster', 'ka1', '51', 'critical', 'Z9 _-./:~!', 'x'.repeat(64), random];
  return matchers.every((m) => {
    const values = m.name === 'alertname' ? probes : ['', ...probes];
    return values.every((v) => m.matches({ [m.name]: v }));
  });
}
