#!/usr/bin/env bash
# Re-captures test/fixtures/keepalived/ from a real lab (root only). Usage: capture-fixtures.sh [outdir] [all|single|group]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(mktemp -d /tmp/kwcapture.XXXXXX)
trap 'rm -rf "$build"' EXIT
npx tsc --ignoreConfig --outDir "$build" --module node16 --moduleResolution node16 --target es2022 \
  --types node --skipLibCheck --strict test/lab/lab.ts test/lab/capture-fixtures.ts
node "$build/capture-fixtures.js" "${1:-$PWD/test/fixtures/keepalived}" "${2:-all}"
