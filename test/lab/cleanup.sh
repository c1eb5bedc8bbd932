#!/usr/bin/env bash
# Removes leftovers of keepwatch labs (test/lab/lab.ts): kw-<id>-* network namespaces, the
# processes in them (keepalived, nginx, dbus-daemon, socat, agents) and /run/kwlab/<id>/.
# Run at CI start and after a crash.
#   cleanup.sh            every lab whose owner process (/run/kwlab/<id>/owner.pid) is gone
#   cleanup.sh --all      every lab, even live ones (CI start; never on a shared machine)
#   cleanup.sh <id>...    these labs, live or not
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "cleanup.sh: not root, nothing to clean" >&2; exit 0; }
RUN=/run/kwlab
force=0; ids=()
for a in "$@"; do
  case "$a" in --all) force=1 ;; *) ids+=("$a"); force=1 ;; esac
done

ns_ids() { ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^kw-\(.*\)-\(lan\|client\|ka[0-9]\+\)$/\1/p' | sort -u; }
if [ ${#ids[@]} -eq 0 ]; then
  mapfile -t ids < <( { ns_ids; [ -d "$RUN" ] && ls -1 "$RUN"; } | sort -u )
fi

removed=0
for id in "${ids[@]}"; do
  [ -n "$id" ] || continue
  owner=$(cat "$RUN/$id/owner.pid" 2>/dev/null || true)
  if [ "$force" = 0 ] && [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
    echo "cleanup.sh: lab '$id' is live (owner pid $owner), left alone"; continue
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^kw-${id}-(lan|client|ka[0-9]+)$"); do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  # Processes that outlived their namespace's name, found by their files under the lab dir.
  for p in $(pgrep -f "$RUN/$id/" 2>/dev/null); do [ "$p" != "$$" ] && kill -9 "$p" 2>/dev/null; done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^kw-${id}-(lan|client|ka[0-9]+)$"); do
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "${RUN:?}/$id"
  echo "cleanup.sh: removed lab '$id'"; removed=$((removed + 1))
done
echo "cleanup.sh: $removed lab(s) removed"
