// How many cases each property/fuzz test runs: KW_FUZZ_RUNS, default 200 in `npm test`.
// The bench profile (bench/fuzz.sh, part of `npm run bench`) runs 10,000 each.
export const DEFAULT_FUZZ_RUNS = 200;

export function fuzzRuns(scale = 1): number {
  const raw = process.env.KW_FUZZ_RUNS;
  const n = raw === undefined || raw === '' ? DEFAULT_FUZZ_RUNS : Number(raw);
  if (!Number.isFinite(n) || n < 1) throw new Error(`KW_FUZZ_RUNS must be a positive number, got '${raw}'`);
  return Math.max(1, Math.round(n * scale));
}

/** A jest timeout that grows with the run count (the bench profile runs 50x the cases). */
export function fuzzTimeoutMs(perRunMs = 5, floorMs = 30_000): number {
  return Math.max(floorMs, fuzzRuns() * perRunMs);
}
