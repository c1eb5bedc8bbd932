#!/usr/bin/env bash
# `npm run bench`: every benchmark in turn (root: they use the lab), each printing its figures and
# writing JSON into bench/out/ (in full) and bench/out-committed/ (summarised: commit it, then
# `npx tsx bench/results.ts` rewrites bench/RESULTS.md's tables from it), then a summary.
# Evidence, not tests: a missed goal does not fail.
# Options go through the environment, e.g.
#   KW_BENCH_DURATION=60 npm run bench            (footprint: seconds of each phase; default 300)
#   KW_BENCH_WRK_SECONDS=10                       (scrapeCost: seconds per wrk run)
#   KW_BENCH_SCRAPES=20 KW_BENCH_GAP_MS=500       (scrapeCost: Prometheus-like scrapes, each after a store change)
#   KW_BENCH_ONLY="scrapeCost footprint" npm run bench
#   KW_BENCH_FAILOVERS=20 KW_BENCH_SPLITS=10      (timeToPage)
#   KW_BENCH_INCIDENTS=sigterm,kill9 KW_BENCH_PROM_WAIT=150 (incidents: which ones; all nine take ~30 min)
#   KW_BENCH_PREEMPTION_ROUNDS=10 KW_BENCH_HOLD=500ms (preemptionOverlap)
#   KW_BENCH_WINDOW=60                            (idleCpu: seconds per variant)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"

if [ "$(id -u)" != 0 ]; then
  echo "bench: needs root (the lab runs in network namespaces); nothing run" >&2
  exit 2
fi
# wrk for scrapeCost; the lab's and the Prometheus path's packages.
need=()
for p in wrk prometheus prometheus-alertmanager prometheus-nginx-exporter hyperfine; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" || {
    echo "bench: could not install ${need[*]}" >&2; exit 1; }
fi
[ -d node_modules ] || npm ci || exit 1
npm run build >/dev/null || { echo "bench: build failed" >&2; exit 1; }
bash test/lab/cleanup.sh >/dev/null 2>&1 || true

all="scrapeMicro peerStream scrapeCost footprint idleCpu bursts hookLatency preemptionOverlap timeToPage incidents fuzz"
only="${KW_BENCH_ONLY:-$all}"
declare -A result
for b in $only; do
  echo
  echo "################################################################ bench: $b"
  start=$(date +%s)
  if [ "$b" = fuzz ]; then
    bash bench/fuzz.sh 2>&1 | tee "$OUT/fuzz.log"
    rc=${PIPESTATUS[0]}
  else
    npx tsx "bench/$b.ts" 2>&1 | tee "$OUT/$b.log"
    rc=${PIPESTATUS[0]}
  fi
  result[$b]="exit $rc, $(( $(date +%s) - start )) s"
done
bash test/lab/cleanup.sh >/dev/null 2>&1 || true

echo
echo "################################################################ summary"
for b in $only; do printf '%-12s %s\n' "$b" "${result[$b]}"; done
echo "JSON and logs in $OUT/; summaries in bench/out-committed/ (npx tsx bench/results.ts rewrites bench/RESULTS.md's tables from them)"
