#!/usr/bin/env bash
# Install a real Home Assistant that needs a newer Python than the machine's (2026.11.0 needs
# Python >= 3.14.2) into a Debian chroot built with debootstrap, with the Python requirements of
# every integration the HA test harness sets up, so HA starts with --skip-pip and never needs the
# network. See docs/home-assistant-testing.md and ../shared/reference/home-assistant-2026.md.
#
#   bash .ci/install-ha-chroot.sh [HA_VERSION]      default 2026.11.0; prints the chroot's path last
#   bash .ci/install-ha-chroot.sh --print-lock [V]  pip freeze of the installed venv (for .ci/ha-V.lock)
#
# Cache (outside the clone, so a machine builds it once): $HA_CACHE_DIR/chroot-<suite>-<HA version>/
# (default HA_CACHE_DIR: $HOME/.cache/cam2mqtt-ha). Two markers: the base system is keyed on the
# debootstrap arguments, the HA venv (/opt/ha inside) on the HA version, this script's hash and the
# lock file's hash; a change re-runs only what it affects. Every Python package is pinned by
# .ci/ha-<version>.lock (pip freeze of a known-good install) and package_constraints.txt.
#
# Every mount (proc, dev) is made in a private mount namespace (unshare -m) and unmounted by a trap,
# so nothing is left mounted on the host, also when the install fails or is killed.
#
# Environment: HA_CACHE_DIR, HA_FORCE=1 (rebuild the venv), HA_NO_LOCK=1 (resolve without the lock),
# HA_DEBIAN_MIRROR (default: the first URI in /etc/apt/sources.list.d/, else deb.debian.org).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"

MODE=install
if [ "${1:-}" = "--print-lock" ]; then MODE=print-lock; shift; fi
HA_VERSION="${1:-2026.11.0}"

# What each HA version needs: the Debian suite with a new enough Python, and that Python.
case "$HA_VERSION" in
  2026.3.* | 2026.4.* | 2026.5.* | 2026.6.* | 2026.7.* | 2026.8.* | 2026.9.* | 2026.1[0-2].*)
    SUITE=sid PYTHON=python3.14 ;;
  2025.* | 2026.1.* | 2026.2.*) SUITE=trixie PYTHON=python3.13 ;;
  *) echo "[install-ha-chroot] ERROR: no Debian suite known for Home Assistant $HA_VERSION (add it to the case in $SCRIPT)" >&2; exit 1 ;;
esac

# Integrations whose requirements get pre-installed (the same list as .ci/install-ha.sh, plus the
# platforms HA 2026.11's MQTT sets up); the always-loaded ones (bootstrap.py) are added and
# dependencies / after_dependencies followed from the manifests.
INTEGRATIONS=(
  homeassistant persistent_notification logger system_log frontend recovery_mode cloud
  http api websocket_api config onboarding automation repairs stream
  mqtt mjpeg device_automation tag notify
  alarm_control_panel binary_sensor button camera climate cover device_tracker event fan
  humidifier image lawn_mower light lock number scene select sensor siren switch text update
  vacuum valve water_heater infrared radio_frequency
)
DEB_PACKAGES="$PYTHON,$PYTHON-venv,$PYTHON-dev,python3,python3-venv,gcc,g++,ca-certificates,libturbojpeg0"

CACHE="${HA_CACHE_DIR:-$HOME/.cache/cam2mqtt-ha}"
ROOT="$CACHE/chroot-$SUITE-$HA_VERSION"
LOCKFILE="$SCRIPT_DIR/ha-$HA_VERSION.lock"
BASE_MARKER="$ROOT/.cam2mqtt-base"
VENV_MARKER="$ROOT/.cam2mqtt-venv"

START=$(date +%s)
log() { printf '[install-ha-chroot %3ss] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { printf '[install-ha-chroot] ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$MODE" = print-lock ]; then
  [ -f "$ROOT/opt/ha/bin/hass" ] || die "no venv in $ROOT/opt/ha"
  echo "# pip freeze of Home Assistant $HA_VERSION + the integration requirements in $SUITE ($PYTHON),"
  echo "# made by: bash .ci/install-ha-chroot.sh --print-lock $HA_VERSION > .ci/ha-$HA_VERSION.lock"
  chroot "$ROOT" /opt/ha/bin/python -m pip freeze --exclude-editable | grep -v -E '^(homeassistant|pip|setuptools|wheel)[= @]'
  exit 0
fi

BASE_HASH="$(echo "suite=$SUITE packages=$DEB_PACKAGES v1" | sha256sum | cut -c1-16)"
LOCK_HASH="none"
if [ "${HA_NO_LOCK:-0}" != 1 ] && [ -f "$LOCKFILE" ]; then LOCK_HASH="$(sha256sum < "$LOCKFILE" | cut -c1-16)"; fi
VENV_HASH="$( { cat "$SCRIPT"; echo "ha=$HA_VERSION lock=$LOCK_HASH base=$BASE_HASH"; } | sha256sum | cut -c1-16)"

ready() {
  [ "${HA_FORCE:-0}" != 1 ] && [ "$(cat "$BASE_MARKER" 2>/dev/null)" = "$BASE_HASH" ] \
    && [ "$(cat "$VENV_MARKER" 2>/dev/null)" = "$VENV_HASH" ] && [ -x "$ROOT/opt/ha/bin/hass" ]
}
if ready; then
  log "Home Assistant $HA_VERSION already installed in $ROOT (venv $VENV_HASH)"
  echo "$ROOT"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "building the chroot needs root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed: apt-get install debootstrap"
command -v unshare >/dev/null 2>&1 || die "unshare (util-linux) is not installed"
mkdir -p "$CACHE"

# Serialise concurrent installs (two test runs starting at once).
exec 9>"$CACHE/.chroot-$HA_VERSION.lock"
log "waiting for install lock"
flock 9
if ready; then
  log "Home Assistant $HA_VERSION was installed by a concurrent run"
  echo "$ROOT"
  exit 0
fi

# Unmount anything left under a directory (deepest first); used by the traps.
umount_under() {
  local dir="$1" m
  for m in $(findmnt -rn -o TARGET 2>/dev/null | { grep -F "$dir/" || true; } | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------------------------------------
# 1. The base system (debootstrap), built in a scratch directory and renamed when complete.
if [ "$(cat "$BASE_MARKER" 2>/dev/null)" != "$BASE_HASH" ]; then
  MIRROR="${HA_DEBIAN_MIRROR:-}"
  if [ -z "$MIRROR" ]; then
    MIRROR="$(grep -h -o -E '^(URIs:[[:space:]]*|deb[[:space:]]+)https?://[^[:space:]]*/debian/?([[:space:]]|$)' \
      /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{print $NF}' || true)"
  fi
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
  PARTIAL="$ROOT.partial"
  trap 'umount_under "$PARTIAL"' EXIT
  umount_under "$PARTIAL"
  rm -rf "$PARTIAL" "$ROOT"
  log "debootstrap $SUITE from $MIRROR into $PARTIAL (first time: ~1.5 min)"
  if ! debootstrap --variant=minbase --include="$DEB_PACKAGES" "$SUITE" "$PARTIAL" "$MIRROR" \
    > "$CACHE/debootstrap-$SUITE.log" 2>&1; then
    tail -n 30 "$CACHE/debootstrap-$SUITE.log" >&2
    die "debootstrap $SUITE failed (log: $CACHE/debootstrap-$SUITE.log)"
  fi
  umount_under "$PARTIAL"
  # pip inside must trust the host's extra CAs (a TLS-inspecting egress proxy) and resolve names.
  mkdir -p "$PARTIAL/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$PARTIAL/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$PARTIAL" update-ca-certificates > /dev/null 2>&1 || die "update-ca-certificates failed in the chroot"
  echo "$BASE_HASH" > "$PARTIAL/.cam2mqtt-base"
  mv "$PARTIAL" "$ROOT"
  trap - EXIT
  log "base system ready: $(chroot "$ROOT" "$PYTHON" --version)"
fi
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"

# ---------------------------------------------------------------------------------------------
# 2. The HA venv at /opt/ha inside the chroot, in a private mount namespace.
rm -f "$VENV_MARKER"
cp "$LOCKFILE" "$ROOT/tmp/ha-lock.txt" 2>/dev/null || : > "$ROOT/tmp/ha-lock.txt"
[ "$LOCK_HASH" != none ] || : > "$ROOT/tmp/ha-lock.txt"
printf '%s\n' "${INTEGRATIONS[@]}" > "$ROOT/tmp/ha-integrations.txt"
cat > "$ROOT/tmp/ha-install.sh" <<EOF
set -eu
export HOME=/root PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
unset PIP_FIND_LINKS PIP_CERT
export PIP_CERT=/etc/ssl/certs/ca-certificates.crt
if [ ! -x /opt/ha/bin/python ]; then $PYTHON -m venv /opt/ha; fi
/opt/ha/bin/python -m pip install -q 'pip==25.3'
echo "pip install homeassistant==$HA_VERSION"
/opt/ha/bin/python -m pip install --prefer-binary -c /tmp/ha-lock.txt 'homeassistant==$HA_VERSION'
/opt/ha/bin/python /tmp/ha-walk.py /tmp/ha-integrations.txt > /tmp/ha-reqs.txt
echo "integration requirements: \$(tr '\n' ' ' < /tmp/ha-reqs.txt)"
C=\$(/opt/ha/bin/python -c 'import homeassistant, os; print(os.path.join(os.path.dirname(homeassistant.__file__), "package_constraints.txt"))')
/opt/ha/bin/python -m pip install --prefer-binary -c "\$C" -c /tmp/ha-lock.txt -r /tmp/ha-reqs.txt
/opt/ha/bin/python -m pip check || echo "(pip check is not fatal)"
/opt/ha/bin/python -c 'import homeassistant.const as c, hass_frontend, paho.mqtt.client, turbojpeg, PIL, av; print("imports ok; homeassistant", c.__version__)'
EOF
cat > "$ROOT/tmp/ha-walk.py" <<'PYEOF'
# Requirements of the given integrations, the ones bootstrap.py always sets up, and everything
# they depend on (dependencies + after_dependencies), read from the installed manifests.
import ast, json, os, sys
import homeassistant
base = os.path.dirname(homeassistant.__file__)
domains = {l.strip() for l in open(sys.argv[1]) if l.strip()}
tree = ast.parse(open(os.path.join(base, "bootstrap.py")).read())
for node in tree.body:
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            if isinstance(t, ast.Name) and t.id.endswith("_INTEGRATIONS") and node.value is not None:
                try:
                    domains |= set(ast.literal_eval(node.value))
                except ValueError:
                    pass  # a computed set; its parts are literal sets found separately
seen, todo, reqs = set(), sorted(domains), set()
while todo:
    d = todo.pop()
    if d in seen:
        continue
    seen.add(d)
    path = os.path.join(base, "components", d, "manifest.json")
    if not os.path.exists(path):
        print(f"  (no integration {d!r} in this HA)", file=sys.stderr)
        continue
    m = json.load(open(path))
    reqs |= set(m.get("requirements", []))
    todo += m.get("dependencies", []) + m.get("after_dependencies", [])
print(f"  {len(seen)} integrations", file=sys.stderr)
print("\n".join(sorted(reqs)))
PYEOF

log "installing homeassistant==$HA_VERSION and integration requirements into $ROOT/opt/ha (first time: ~3 min)"
PIPLOG="$CACHE/chroot-$HA_VERSION-pip.log"
# The inner script runs in a private mount namespace: proc and dev are mounted only there and
# vanish with it; the trap unmounts them explicitly anyway.
if ! unshare --mount --propagation private bash -c '
    set -e
    R="$1"
    trap "umount -l \"\$R/dev\" 2>/dev/null || true; umount -l \"\$R/proc\" 2>/dev/null || true" EXIT
    mount -t proc proc "$R/proc"
    mount --rbind /dev "$R/dev"
    chroot "$R" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin bash /tmp/ha-install.sh
  ' _ "$ROOT" > "$PIPLOG" 2>&1; then
  tail -n 40 "$PIPLOG" >&2
  die "pip install in the chroot failed (full log: $PIPLOG)"
fi
grep -E '^(imports ok|integration requirements)' "$PIPLOG" | cut -c1-300 >&2 || true
[ -x "$ROOT/opt/ha/bin/hass" ] || die "$ROOT/opt/ha/bin/hass missing after the install"

if [ ! -f "$LOCKFILE" ] && [ "${HA_NO_LOCK:-0}" != 1 ]; then
  log "no $LOCKFILE yet: write it with  bash $SCRIPT --print-lock $HA_VERSION > $LOCKFILE"
fi
echo "$VENV_HASH" > "$VENV_MARKER"
log "done: Home Assistant $HA_VERSION ready in $ROOT (run: .ci/hass-chroot.sh $ROOT CONFIG_DIR)"
echo "$ROOT"
