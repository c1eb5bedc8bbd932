// Times and durations in words, for alert texts, incident notices and log lines: one wording
// everywhere an operator reads them (state, rules and alerting all say "2.1 s", never "2100ms").

/** An instant as ISO 8601 in UTC: sortable, unambiguous across the nodes' time zones. */
export function fmtTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A duration at the precision that matters for its size: "250 ms", "2.1 s", "3 min 5 s", "2 h 10 min". */
export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
