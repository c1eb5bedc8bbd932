#!/usr/bin/env bash
# The one test command (`npm test`, `.ci/run`): installs what is missing, builds, type-checks the
# tests, then runs the unit tests (parallel), the env tests (parallel; what this machine lacks is
# skipped, with the reason) and the lab/e2e tests (in band; skipped when not root, a failure when
# the lab cannot start as root), and sums it all up in one closing line.
# Extra arguments go to every jest run, e.g. `bash test/run-all.sh test/e2e/lab.test.ts`.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=test/out
mkdir -p "$OUT"
rm -f "$OUT/unit.json" "$OUT/env.json" "$OUT/e2e.json"

is_root=0; [ "$(id -u)" = 0 ] && is_root=1

banner() { printf '\n%s\n%s\n%s\n\n' "########################################################################" "### $*" "########################################################################"; }

if [ "$is_root" = 1 ]; then
  bash scripts/setup.sh || { echo "run-all: installing Debian packages failed" >&2; exit 1; }
fi

if [ ! -d node_modules ]; then
  npm ci || { echo "run-all: npm ci failed" >&2; exit 1; }
fi
npm run build || { echo "run-all: build failed" >&2; exit 1; }

status=0
# ts-jest only transpiles (isolatedModules): type-check the tests, helpers and benches here.
types_ok=1
npx tsc -p tsconfig.test.json --noEmit || { echo "run-all: type errors in tests/bench (see above)" >&2; status=1; types_ok=0; }
# Unit tests, then the tests that need something of the machine: parallel workers.
npx jest --selectProjects unit --passWithNoTests --json --outputFile="$OUT/unit.json" "$@" || status=1
npx jest --selectProjects env --passWithNoTests --json --outputFile="$OUT/env.json" "$@" || status=1

if [ "$is_root" = 1 ]; then
  # Leftovers of crashed runs (labs whose owner process is gone; live labs are left alone).
  bash test/lab/cleanup.sh || true
  npx jest --selectProjects e2e --runInBand --passWithNoTests --json --outputFile="$OUT/e2e.json" "$@" || status=1
  bash test/lab/cleanup.sh >/dev/null 2>&1 || true
else
  banner "SKIPPING lab tests: not root (the e2e tests need network namespaces). Unit tests only."
fi

# Sum the runs up: failed counts tests, suites that could not run (compile errors...) and a failed
# type-check; skipped tests are listed by reason (test/helpers/needs.ts puts it in their title).
summary=$(node -e '
  const fs = require("fs");
  const [unitFile, envFile, e2eFile, e2eRan, typesOk] = process.argv.slice(1);
  let p = 0, f = 0, s = 0; const parts = []; const reasons = new Map();
  if (typesOk !== "1") { f += 1; parts.push("types: failed"); }
  for (const [name, file, ran] of [["unit", unitFile, true], ["env", envFile, true], ["e2e", e2eFile, e2eRan === "1"]]) {
    if (!ran) { parts.push(`${name}: not run`); continue; }
    let r;
    try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { f += 1; parts.push(`${name}: no jest result (jest crashed?)`); continue; }
    const pf = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
    const ps = r.numPendingTests + (r.numTodoTests || 0);
    p += r.numPassedTests; f += pf; s += ps;
    parts.push(`${name}: ${r.numPassedTests} passed, ${pf} failed, ${ps} skipped (${r.numTotalTestSuites} files)`);
    for (const t of r.testResults.flatMap((x) => x.assertionResults || [])) {
      if (t.status !== "pending") continue;
      const m = /\[SKIPPED: (.*)\]$/.exec([...t.ancestorTitles, t.title].find((x) => /\[SKIPPED: /.test(x)) || "");
      const why = `${name}: ${m ? m[1] : "skipped without a reason"}`;
      reasons.set(why, (reasons.get(why) || 0) + 1);
    }
  }
  for (const [why, n] of reasons) console.log(`SKIPPED ${n}: ${why}`);
  console.log(parts.join("; "));
  console.log(`${p} passed, ${f} failed, ${s} skipped`);
  process.exitCode = f > 0 ? 1 : 0;
' "$OUT/unit.json" "$OUT/env.json" "$OUT/e2e.json" "$is_root" "$types_ok")
sum_status=$?
echo
echo "$summary" | head -n -1
[ "$is_root" = 1 ] || echo "(lab/e2e tests SKIPPED: not root)"
echo "$summary" | tail -n 1
[ "$sum_status" = 0 ] || status=1
exit "$status"
