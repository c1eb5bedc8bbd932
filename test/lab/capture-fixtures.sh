#!/usr/bin/env bash
# Re-captures test/fixtures/keepalived/ from a real lab (root only; about 65 s).
# Usage: test/lab/capture-fixtures.sh [outdir] [all|single|group]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec npx tsx test/lab/capture-fixtures.ts "${1:-$PWD/test/fixtures/keepalived}" "${2:-all}"
