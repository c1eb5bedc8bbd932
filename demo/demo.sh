#!/usr/bin/env bash
# `npm run demo`: the two-node lab with agents, a failover and a split brain. Root needed (namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "demo: run as root (it creates network namespaces)" >&2; exit 1; fi
bash scripts/setup.sh
[ -d node_modules ] || npm ci
npm run build >/dev/null
exec npx tsx demo/demo.ts "$@"
