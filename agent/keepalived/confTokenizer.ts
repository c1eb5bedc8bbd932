// keepalived.conf to a token stream, with `include` (globs, relative to the including file)
// spliced in. Hand-rolled: no npm package parses keepalived.conf (the npm package list has none;
// `npm search` itself answered 404 here), and its grammar is keepalived's own line reader.
// Rules followed (keepalived 2.2.7): `#` or `!` outside double quotes starts a comment wherever it
// stands, even inside a word (`priority 100#x` is `priority 100`), and `\#`/`\!` keep the character;
// double quotes group words; `{` and `}` are tokens wherever they stand outside quotes (no line
// continuation, as in keepalived 2.2.7); `$NAME=value` defines a parameter used as `$NAME`/`${NAME}`; `@id`/`@^id`
// prefixes keep a line only on (or everywhere but) the node whose config id matches.
import * as nodePath from 'node:path';
import { globFiles, type GlobFs } from './confGlob';
import type { ConfIssue } from './confTypes';

export type TokenType = 'word' | 'open' | 'close' | 'eol';

export interface Token {
  type: TokenType;
  text: string;
  quoted: boolean;
  file: string;
  line: number;
}

export interface TokenizerFs extends GlobFs {
  readFileSync(p: string, enc: 'utf8'): string;
  realpathSync(p: string): string;
}

export interface TokenizeOptions {
  fs: TokenizerFs;
  /** keepalived -i <id>: lines prefixed `@id` are kept only where it matches. */
  configId?: string;
  /** Include nesting limit (a loop is also caught by path). */
  maxDepth?: number;
  /** Largest file read, bytes. */
  maxFileBytes?: number;
}

export interface TokenizeResult {
  tokens: Token[];
  files: string[];
  issues: ConfIssue[];
}

interface State {
  opts: TokenizeOptions;
  tokens: Token[];
  files: string[];
  issues: ConfIssue[];
  params: Map<string, string>;
  stack: string[];
}

export function tokenizeConf(mainFile: string, opts: TokenizeOptions): TokenizeResult {
  const st: State = { opts, tokens: [], files: [], issues: [], params: new Map(), stack: [] };
  readFile(st, nodePath.resolve(mainFile), { file: mainFile, line: 0 });
  return { tokens: st.tokens, files: st.files, issues: st.issues };
}

/** Tokenizes one text as if it were a file (no includes are followed unless fs can read them). */
export function tokenizeText(text: string, file: string, opts: TokenizeOptions): TokenizeResult {
  const st: State = { opts, tokens: [], files: [file], issues: [], params: new Map(), stack: [file] };
  tokenizeInto(st, text, file);
  return { tokens: st.tokens, files: st.files, issues: st.issues };
}

function readFile(st: State, file: string, from: { file: string; line: number }): void {
  const maxDepth = st.opts.maxDepth ?? 16;
  let real = file;
  try {
    real = st.opts.fs.realpathSync(file);
  } catch {
    /* reported by the read below */
  }
  if (st.stack.includes(real)) {
    st.issues.push({ ...from, severity: 'error', message: `include loop: ${file} includes itself (via ${st.stack.join(' -> ')})` });
    return;
  }
  if (st.stack.length >= maxDepth) {
    st.issues.push({ ...from, severity: 'error', message: `include nesting deeper than ${maxDepth} at ${file}` });
    return;
  }
  let text: string;
  try {
    text = st.opts.fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    st.issues.push({ ...from, severity: 'error', message: `cannot read ${file}: ${err.code ?? err.message}` });
    return;
  }
  const max = st.opts.maxFileBytes ?? 8 * 1024 * 1024;
  if (text.length > max) {
    st.issues.push({ ...from, severity: 'error', message: `${file} is larger than ${max} bytes: not read` });
    return;
  }
  st.files.push(file);
  st.stack.push(real);
  try {
    tokenizeInto(st, text, file);
  } finally {
    st.stack.pop();
  }
}

/** Lines with their numbers. keepalived 2.2.7 has no `\\` line continuation (seen: the next line is read as a keyword). */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  return text.split(/\r?\n|\r/).map((t, i) => ({ text: t, line: i + 1 }));
}

function substituteParams(st: State, text: string): string {
  if (st.params.size === 0 || !text.includes('$')) return text;
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => {
    const v = st.params.get((a ?? b) as string);
    return v === undefined ? m : v;
  });
}

function tokenizeInto(st: State, text: string, file: string): void {
  for (const { text: raw, line } of logicalLines(text)) {
    let t = stripComment(raw);
    const def = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
    if (def) {
      st.params.set(def[1], substituteParams(st, def[2].trim()));
      continue;
    }
    const cond = /^\s*@(\^?)(\S*)\s+(.*)$/.exec(t);
    if (cond) {
      const matches = st.opts.configId !== undefined && cond[2] === st.opts.configId;
      if (cond[1] === '^' ? matches : !matches) continue;
      t = cond[3];
    }
    t = substituteParams(st, t);
    // `include <glob>` is a whole line, read raw: braces in it are glob alternatives, not blocks.
    const inc = /^\s*include(?:\s+(.*))?$/.exec(t);
    if (inc) {
      const patterns = splitLine((inc[1] ?? '').replace(/[{}]/g, (m) => (m === '{' ? '\u0001' : '\u0002')), file, line, st.issues)
        .filter((w) => w.type === 'word')
        .map((w) => w.text.replace(/\u0001/g, '{').replace(/\u0002/g, '}'));
      if (patterns.length === 0) st.issues.push({ file, line, severity: 'error', message: 'include without a file name' });
      for (const pattern of patterns) {
        const matched = globFiles(pattern, nodePath.dirname(nodePath.resolve(file)), st.opts.fs);
        if (matched.length === 0) st.issues.push({ file, line, severity: 'warning', message: `include ${pattern}: no file matches` });
        for (const f of matched) {
          readFile(st, f, { file, line });
          st.tokens.push({ type: 'eol', text: '', quoted: false, file, line });
        }
      }
      continue;
    }
    for (const w of splitLine(t, file, line, st.issues)) st.tokens.push(w);
    st.tokens.push({ type: 'eol', text: '', quoted: false, file, line });
  }
}

/** One logical line to tokens (no eol). Never throws; an unterminated quote is an issue and runs to the end of line. */
/** keepalived's decomment(): the line up to the first `#` or `!` outside double quotes; `\#` and `\!` stand for the character. */
export function stripComment(text: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && !quoted && (text[i + 1] === '#' || text[i + 1] === '!')) {
      out += text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '#' || c === '!')) break;
    out += c;
  }
  return out;
}

export function splitLine(text: string, file: string, line: number, issues: ConfIssue[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '{' || c === '}') {
      out.push({ type: c === '{' ? 'open' : 'close', text: c, quoted: false, file, line });
      i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) {
        issues.push({ file, line, severity: 'error', message: 'unterminated quoted string' });
        out.push({ type: 'word', text: text.slice(i + 1), quoted: true, file, line });
        break;
      }
      out.push({ type: 'word', text: text.slice(i + 1, end), quoted: true, file, line });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < n && !' \t\f\v{}"'.includes(text[j])) j++;
    out.push({ type: 'word', text: text.slice(i, j), quoted: false, file, line });
    i = j;
  }
  return out;
}
