#!/usr/bin/env bash
# The fuzzing profile: every property/fuzz test of the parsers and the HTTP API with 10,000 cases
# each (npm test runs 200). Override with KW_FUZZ_RUNS. Extra arguments go to jest.
set -uo pipefail
cd "$(dirname "$0")/.."
export KW_FUZZ_RUNS="${KW_FUZZ_RUNS:-10000}"
echo "fuzz: KW_FUZZ_RUNS=$KW_FUZZ_RUNS"
npx jest --selectProjects=unit --testPathPatterns test/unit/fuzz/ "$@"
