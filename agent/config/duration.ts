// Durations in Prometheus's grammar (prometheus/common model.ParseDuration), the one parser for
// every duration keepwatch reads (config keys, --for/--duration flags, the silences API): units
// y w d h m s ms, each at most once, largest first, integers only (`1h30m`, `1w`, `500ms`; `0`
// alone; `1.5h`, `1m1h` and `-1s` rejected as Prometheus rejects them). A year is 365 days, as there.
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

export class DurationError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`not a duration: ${JSON.stringify(input)} (${reason})`);
    this.name = 'DurationError';
  }
}

/** Parses a Prometheus duration to milliseconds; throws DurationError saying why not. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new DurationError(s, 'empty');
  const m = DURATION_RE.exec(s);
  if (!m) throw new DurationError(s, 'use units y w d h m s ms, largest first, whole numbers, e.g. 1h30m, 1w, 500ms');
  let ms = 0;
  UNITS.forEach(([, size], i) => {
    if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * size;
  });
  if (!Number.isSafeInteger(ms)) throw new DurationError(s, 'too long');
  return ms;
}

/** Prometheus's way of printing a duration (model.Duration.String): `2w`, `1h30m`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
