#!/usr/bin/env bash
# Runs Home Assistant from a chroot made by .ci/install-ha-chroot.sh, for the test harness
# (test/ha/hass.ts):
#
#   bash .ci/hass-chroot.sh CHROOT CONFIG_DIR [hass arguments...]
#
# HA runs as `chroot CHROOT /opt/ha/bin/hass -c CONFIG_DIR ...` and shares the host's network (it
# binds 127.0.0.1 like the 2024.3 leg). proc, dev and CONFIG_DIR (bind, at the same path) are
# mounted in a private mount namespace (unshare -m), so they are never visible on the host and vanish
# with this process even if it is killed; the trap unmounts them explicitly and forwards SIGTERM /
# SIGINT to HA, waiting for it to stop.
set -euo pipefail

if [ "${1:-}" != --inner ]; then
  [ $# -ge 2 ] || { echo "usage: $0 CHROOT CONFIG_DIR [hass args...]" >&2; exit 2; }
  [ -x "$1/opt/ha/bin/hass" ] || { echo "hass-chroot: no Home Assistant in $1 (run .ci/install-ha-chroot.sh)" >&2; exit 2; }
  [ -d "$2" ] || { echo "hass-chroot: config dir $2 does not exist" >&2; exit 2; }
  exec unshare --mount --propagation private bash "${BASH_SOURCE[0]}" --inner "$@"
fi
shift
ROOT="$1" CONF="$(cd "$2" && pwd)"
shift 2

HA_PID=""
MOUNTED=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$HA_PID" ] && kill -0 "$HA_PID" 2>/dev/null; then
    kill -TERM "$HA_PID" 2>/dev/null || true
    wait "$HA_PID" 2>/dev/null || true
  fi
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[$i]}" 2>/dev/null || true; done
  rmdir "$ROOT$CONF" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

mount -t proc proc "$ROOT/proc" && MOUNTED+=("$ROOT/proc")
mount --rbind /dev "$ROOT/dev" && MOUNTED+=("$ROOT/dev")
mkdir -p "$ROOT$CONF"
mount --bind "$CONF" "$ROOT$CONF" && MOUNTED+=("$ROOT$CONF")
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# A clean environment: nothing from the host's Python / pip / proxies leaks into HA.
chroot "$ROOT" /usr/bin/env -i PATH=/opt/ha/bin:/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  TZ="${TZ:-UTC}" PYTHONUNBUFFERED=1 NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
  /opt/ha/bin/hass -c "$CONF" "$@" &
HA_PID=$!
set +e
wait "$HA_PID"
rc=$?
HA_PID=""
exit "$rc"
