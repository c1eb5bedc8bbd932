#!/usr/bin/env bash
# Installs the Debian packages keepwatch's lab, demo, tests and benchmarks use, only those missing
# (`npm run setup`; also called by `npm test`). Needs root. Idempotent and quiet when all is there.
set -euo pipefail
PACKAGES=(keepalived nginx-light dbus iproute2 iputils-arping nftables socat procps curl
          prometheus prometheus-alertmanager chromium systemd openssl)
[ "${1:-}" = "--bench" ] && PACKAGES+=(wrk hyperfine prometheus-nginx-exporter)
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root: cannot install ${PACKAGES[*]} (run as root, or install them yourself)" >&2
  exit 1
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts the daemons it has just installed; the lab runs its own, in namespaces. Only the
# services of packages installed now are stopped: a host's own nginx or keepalived is left alone.
for p in "${missing[@]}"; do
  case "$p" in
    keepalived|prometheus|prometheus-alertmanager|prometheus-nginx-exporter) svc=$p ;;
    nginx-light) svc=nginx ;;
    *) continue ;;
  esac
  systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done
