// The metric names a PromQL expression reads. Hand-rolled (no PromQL parser on npm is maintained
// for current Prometheus); syntax itself is checked by promtool where it runs. Good enough for
// the expressions of our rules and dashboard: strips strings, label matchers, range selectors,
// grouping label lists and Grafana variables, then keeps identifiers that are not functions or keywords.
const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'inf', 'nan', 'atan2', 'start', 'end',
]);

/** Replaces Grafana's macros and variables with something PromQL accepts. */
export function expandGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range|\$\{__rate_interval\}|\$\{__interval\}|\$\{__range\}/g, '5m')
    .replace(/\$\{?(\w+)(?::\w+)?\}?/g, '.*');
}

export function metricNamesInPromql(expr: string): string[] {
  let s = expandGrafanaVariables(expr);
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // strings
  s = s.replace(/#.*$/gm, ''); // comments
  s = s.replace(/\{[^}]*\}/g, ' '); // label matchers
  s = s.replace(/\[[^\]]*\]/g, ' '); // range and subquery selectors
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const word = m[0];
    const before = s[m.index - 1];
    if (before && /[0-9.]/.test(before)) continue; // part of a number or duration (1e3, 5m)
    const rest = s.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}
