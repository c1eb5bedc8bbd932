// HTTP Retry-After (RFC 9110 10.2.3), as a 429 or 503 answer carries it: how long the receiver
// asks us to wait before the next request. The outbox holds the receiver's queue that long.

/** Retry-After: delay-seconds or an HTTP date (relative to now, ms); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(parseFloat(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
