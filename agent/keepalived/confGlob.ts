// glob(3) as keepalived's `include` uses it (GLOB_BRACE): `*`, `?`, `[...]`, `{a,b}` per path
// segment, results sorted, hidden files only when the pattern names them. Hand-rolled because
// Node 20 has no fs.glob and a glob dependency for one directory walk is not worth it.
import * as nodePath from 'node:path';

export interface GlobFs {
  readdirSync(dir: string): string[];
  statSync(p: string): { isDirectory(): boolean; isFile(): boolean };
}

const MAGIC = /[*?[{]/;

/** Expands {a,b} alternatives (nested allowed); unbalanced braces stay literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const inner = pattern.slice(start + 1, i);
        const parts = splitTopLevel(inner);
        if (parts.length < 2) continue; // "{x}" is literal in glob(3) too
        const pre = pattern.slice(0, start);
        const post = pattern.slice(i + 1);
        const out: string[] = [];
        for (const p of parts) for (const e of expandBraces(pre + p + post)) out.push(e);
        return out;
      }
    }
  }
  return [pattern];
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** One path segment's wildcard pattern as an anchored RegExp. */
export function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, (m) => `\\${m}`);
  }
  return new RegExp(`^${re}$`);
}

/** Absolute paths of existing files matching the pattern, sorted; the pattern is resolved against baseDir. */
export function globFiles(pattern: string, baseDir: string, fs: GlobFs): string[] {
  const found = new Set<string>();
  for (const alt of expandBraces(pattern)) {
    const abs = nodePath.resolve(baseDir, alt);
    if (!MAGIC.test(abs)) {
      try {
        if (fs.statSync(abs).isFile()) found.add(abs);
      } catch {
        /* no match */
      }
      continue;
    }
    const segs = abs.split('/').filter((s) => s.length > 0);
    let dirs = ['/'];
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      const last = i === segs.length - 1;
      const next: string[] = [];
      for (const d of dirs) {
        if (!MAGIC.test(seg)) {
          next.push(nodePath.join(d, seg));
          continue;
        }
        let names: string[];
        try {
          names = fs.readdirSync(d);
        } catch {
          continue;
        }
        const re = segmentRegExp(seg);
        for (const n of names) if ((seg.startsWith('.') || !n.startsWith('.')) && re.test(n)) next.push(nodePath.join(d, n));
      }
      dirs = next.filter((p) => {
        try {
          const st = fs.statSync(p);
          return last ? st.isFile() : st.isDirectory();
        } catch {
          return false;
        }
      });
    }
    for (const f of dirs) found.add(f);
  }
  return [...found].sort();
}
