#!/usr/bin/env bash
# Install a real Home Assistant (core 2024.3.3, the newest that runs on Python 3.11) into
# $HOME/.cache/cam2mqtt-ha/ha-venv (outside the clone, so a machine builds it once), together with the Python requirements of every integration the HA
# test harness sets up, so HA can be started with --skip-pip and never needs the network.
# The newer HAs of the test matrix need a newer Python: .ci/install-ha-chroot.sh.
# Also makes sure the mosquitto broker (Debian package) is there for the HA tests.
#
# Idempotent: a marker file in the venv records a hash of this script (HA version, pins,
# integration list) and the Python version; when it matches, the script exits at once.
#
# Environment overrides (all optional):
#   HA_PYTHON     python 3.11 interpreter to build the venv from
#   HA_CACHE_DIR  cache root (default: $HOME/.cache/cam2mqtt-ha)
#   HA_VENV       venv location (default: $HA_CACHE_DIR/ha-venv)
#   PIP_CACHE_DIR pip's download/wheel cache (default: $HA_CACHE_DIR/pip)
#   HA_FORCE=1    reinstall even if the marker matches
#   HA_NO_LOCK=1  ignore the LOCK list (resolve the newest allowed versions)
#   HA_SKIP_MOSQUITTO=1  do not check for / apt-get install the mosquitto broker
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"

HA_VERSION="2024.3.3"

# Pins on top of homeassistant/package_constraints.txt (see docs/home-assistant-testing.md).
PINS=(
  "josepy<2"          # acme (via hass-nabucasa) breaks with josepy 2 on HA 2024.3
  "paho-mqtt==1.6.1"  # HA 2024.3's mqtt integration needs the 1.x client API
)

# Every package of a known-good install (pip freeze of HA $HA_VERSION + the integrations below,
# Python 3.11, made with `bash .ci/install-ha.sh --print-lock`), used as constraints so a later
# release of some unpinned transitive dependency cannot break the install. Set HA_NO_LOCK=1 to
# resolve without it (e.g. to refresh it).
LOCK=(
  "acme==2.8.0"
  "aiohttp==3.9.3"
  "aiohttp-cors==0.7.0"
  "aiohttp-fast-url-dispatcher==0.3.0"
  "aiohttp-zlib-ng==0.3.1"
  "aiooui==0.1.11"
  "aiosignal==1.4.0"
  "anyio==4.1.0"
  "astral==2.2"
  "async-interrupt==1.1.1"
  "async-timeout==5.0.1"
  "atomicwrites-homeassistant==1.4.1"
  "attrs==23.2.0"
  "awesomeversion==24.2.0"
  "bcrypt==4.1.2"
  "bleak==0.21.1"
  "bleak-retry-connector==3.4.0"
  "bluetooth-adapters==0.18.0"
  "bluetooth-auto-recovery==1.3.0"
  "bluetooth-data-tools==1.19.0"
  "boto3==1.44.5"
  "botocore==1.44.5"
  "btsocket==0.3.0"
  "certifi==2026.10.18"
  "cffi==2.1.1"
  "charset-normalizer==3.2.0"
  "ciso8601==2.3.1"
  "cryptography==42.0.5"
  "dbus-fast==2.21.1"
  "ecdsa==0.19.2"
  "envs==1.4"
  "fnv-hash-fast==0.5.0"
  "fnvhash==0.1.0"
  "frozenlist==1.8.0"
  "greenlet==3.5.6"
  "h11==0.14.0"
  "habluetooth==2.4.2"
  "hass-nabucasa==0.78.0"
  "home-assistant-bluetooth==1.12.0"
  "home-assistant-frontend==20240307.0"
  "httpcore==1.0.4"
  "httpx==0.27.0"
  "idna==3.20"
  "ifaddr==0.2.0"
  "janus==1.0.0"
  "Jinja2==3.1.3"
  "jmespath==1.1.0"
  "josepy==1.15.0"
  "lru-dict==1.3.0"
  "MarkupSafe==3.0.4"
  "multidict==6.9.1"
  "numpy==1.26.0"
  "orjson==3.9.15"
  "packaging==26.3"
  "paho-mqtt==1.6.1"
  "pillow==10.2.0"
  "psutil==7.2.2"
  "psutil-home-assistant==0.0.1"
  "pyasn1==0.6.5"
  "pycognito==2023.5.0"
  "pycparser==3.12"
  "PyJWT==2.8.0"
  "pyOpenSSL==24.0.0"
  "pyRFC3339==2.1.1"
  "PyRIC==0.1.6.3"
  "python-dateutil==2.9.0.post0"
  "python-jose==3.5.0"
  "python-slugify==8.0.4"
  "PyTurboJPEG==1.7.1"
  "pytz==2026.6"
  "PyYAML==6.0.1"
  "requests==2.31.0"
  "rsa==4.9.1"
  "s3transfer==0.19.3"
  "securetar==2024.2.1"
  "six==1.17.0"
  "sniffio==1.3.1"
  "snitun==0.36.2"
  "SQLAlchemy==2.0.27"
  "text-unidecode==1.3"
  "typing_extensions==4.16.0"
  "ulid-transform==0.9.0"
  "urllib3==1.26.20"
  "usb-devices==0.5.1"
  "voluptuous==0.13.1"
  "voluptuous-serialize==2.6.0"
  "yarl==1.9.4"
  "zlib-ng==1.1.0"
)

# Integrations whose requirements get pre-installed: what the harness configures and the entity
# platforms MQTT discovery can create. The ones HA always loads (CORE_INTEGRATIONS and
# DEFAULT_INTEGRATIONS in homeassistant/bootstrap.py) are added automatically, and dependencies
# and after_dependencies are followed from the manifests inside the wheel.
INTEGRATIONS=(
  homeassistant persistent_notification logger system_log frontend
  http api websocket_api config onboarding automation
  mqtt mjpeg device_automation tag notify
  alarm_control_panel binary_sensor button camera climate cover device_tracker event fan
  humidifier image lawn_mower light lock number scene select sensor siren switch text update
  vacuum valve water_heater
)

CACHE="${HA_CACHE_DIR:-$HOME/.cache/cam2mqtt-ha}"
VENV="${HA_VENV:-$CACHE/ha-venv}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$CACHE/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
MARKER="$VENV/.cam2mqtt-ha-installed"

if [ "${1:-}" = "--print-lock" ]; then
  # Prints the LOCK list for the current venv (paste it into LOCK above).
  "$VENV/bin/python" -m pip freeze --exclude-editable | grep -v '^homeassistant @' | sed 's/^/  "/; s/$/"/'
  exit 0
fi

START=$(date +%s)
log() { printf '[install-ha %3ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
die() { printf '[install-ha] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Find a Python 3.11 interpreter.
py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' >/dev/null 2>&1; }
find_python() {
  local c
  for c in "${HA_PYTHON:-}" python3.11 /root/.pyenv/shims/python3.11 /usr/bin/python3.11 \
           /usr/local/bin/python3.11 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then command -v "$c"; return 0; fi
  done
  shopt -s nullglob
  for c in "$HOME"/.pyenv/versions/3.11*/bin/python3.11; do
    if py_ok "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

PY="$(find_python || true)"
if [ -z "$PY" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "no Python 3.11 found; installing python3.11 + python3.11-venv with apt-get"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >/dev/null \
      || die "apt-get install python3.11 python3.11-venv failed"
    PY="$(find_python || true)"
  fi
  [ -n "$PY" ] || die "Python 3.11 is required (Home Assistant $HA_VERSION); set HA_PYTHON"
fi
PY_VERSION="$("$PY" -c 'import sys; print(sys.version.split()[0])')"

# ---------------------------------------------------------------------------------------------
# mosquitto (Debian package) for the HA tests' MQTT broker. Cheap check, done on every run.
have_mosquitto() { command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; }
if [ "${HA_SKIP_MOSQUITTO:-0}" != 1 ] && ! have_mosquitto; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing mosquitto with apt-get"
    apt-get update -qq >/dev/null || die "apt-get update failed (needed to install mosquitto)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >/dev/null \
      || die "apt-get install mosquitto failed"
    have_mosquitto || die "mosquitto still not found after apt-get install"
  else
    die "mosquitto is not installed and cannot be installed here (need root + apt-get): apt-get install mosquitto"
  fi
fi

# ---------------------------------------------------------------------------------------------
# Fast path: marker matches.
# The hash covers this script itself (HA version, pins, integration list, install logic) and
# the interpreter version: any change re-runs pip over the existing venv.
SPEC_HASH="$( { cat "${BASH_SOURCE[0]}"; echo "py=$PY_VERSION nolock=${HA_NO_LOCK:-0}"; } | sha256sum | cut -c1-16)"

if [ "${HA_FORCE:-0}" != 1 ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$SPEC_HASH" ] \
   && [ -x "$VENV/bin/hass" ]; then
  log "Home Assistant $HA_VERSION already installed in $VENV (spec $SPEC_HASH)"
  exit 0
fi

mkdir -p "$CACHE" "$PIP_CACHE_DIR"

# Serialise concurrent installs (two test runs starting at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.ha-install.lock"
  log "waiting for install lock"
  flock 9
  if [ "${HA_FORCE:-0}" != 1 ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$SPEC_HASH" ] \
     && [ -x "$VENV/bin/hass" ]; then
    log "Home Assistant $HA_VERSION was installed by a concurrent run"
    exit 0
  fi
fi

log "installing Home Assistant $HA_VERSION with $PY (Python $PY_VERSION) into $VENV"
log "spec $SPEC_HASH; pip cache $PIP_CACHE_DIR"
rm -f "$MARKER"

# (Re)create the venv when missing, broken or built from another Python.
if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" = "$PY_VERSION" ]; then
  log "reusing venv $VENV"
else
  log "creating venv $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "could not create venv with $PY (is the venv module installed?)"
fi
VPY="$VENV/bin/python"
PIP=("$VPY" -m pip)
export PIP_PROGRESS_BAR=off

log "upgrading pip"
"${PIP[@]}" install -q --upgrade "pip>=24,<25" || die "pip upgrade failed (is PyPI reachable?)"

# Fetch the HA wheel first: it carries package_constraints.txt and the integration manifests.
WHEELS="$CACHE/ha-wheels"
mkdir -p "$WHEELS"
WHEEL="$WHEELS/homeassistant-$HA_VERSION-py3-none-any.whl"
if [ ! -f "$WHEEL" ]; then
  log "downloading homeassistant==$HA_VERSION wheel"
  "${PIP[@]}" download -q --no-deps --only-binary=:all: -d "$WHEELS" "homeassistant==$HA_VERSION" \
    || die "could not download homeassistant==$HA_VERSION from PyPI"
fi
[ -f "$WHEEL" ] || die "expected $WHEEL after download"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
printf '%s\n' "${PINS[@]}" | sed 's/[[:space:]]*#.*//' > "$WORK/pins.txt"
if [ "${HA_NO_LOCK:-0}" = 1 ]; then
  log "HA_NO_LOCK=1: resolving without the lock list"
  : > "$WORK/lock.txt"
else
  printf '%s\n' "${LOCK[@]}" > "$WORK/lock.txt"
fi

log "reading constraints and manifests for: ${INTEGRATIONS[*]}"
"$VPY" - "$WHEEL" "$WORK" "${INTEGRATIONS[@]}" <<'PYEOF' || die "could not read the HA wheel"
import json, sys, zipfile
wheel, work, *domains = sys.argv[1:]
z = zipfile.ZipFile(wheel)
names = set(z.namelist())
open(f"{work}/constraints.txt", "wb").write(z.read("homeassistant/package_constraints.txt"))
# Integrations HA sets up whatever the configuration says (bootstrap.py).
import ast
tree = ast.parse(z.read("homeassistant/bootstrap.py"))
always = set()
for node in tree.body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
            and node.targets[0].id in ("CORE_INTEGRATIONS", "DEFAULT_INTEGRATIONS", "FRONTEND_INTEGRATIONS"):
        always |= set(ast.literal_eval(node.value))
if not always:
    sys.exit("could not find DEFAULT_INTEGRATIONS in homeassistant/bootstrap.py")
print(f"  always set up by HA: {' '.join(sorted(always))}")
seen, todo = {}, sorted(set(domains) | always)
while todo:
    d = todo.pop()
    if d in seen:
        continue
    path = f"homeassistant/components/{d}/manifest.json"
    if path not in names:
        sys.exit(f"integration {d!r} not found in the wheel")
    m = json.loads(z.read(path))
    seen[d] = m
    todo += m.get("dependencies", []) + m.get("after_dependencies", [])
reqs = sorted({r for m in seen.values() for r in m.get("requirements", [])})
open(f"{work}/requirements.txt", "w").write("".join(r + "\n" for r in reqs))
print(f"  {len(seen)} integrations, requirements: {' '.join(reqs)}")
PYEOF

log "pip install homeassistant + integration requirements (first time: several minutes)"
PIPLOG="$CACHE/ha-pip-install.log"
"${PIP[@]}" install --prefer-binary \
  -c "$WORK/constraints.txt" -c "$WORK/pins.txt" -c "$WORK/lock.txt" \
  "$WHEEL" -r "$WORK/requirements.txt" > "$PIPLOG" 2>&1 &
PIP_PID=$!
# Heartbeat: pip's own output goes to the log; show where it is every 15 s.
while kill -0 "$PIP_PID" 2>/dev/null; do
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    sleep 1
    kill -0 "$PIP_PID" 2>/dev/null || break 2
  done
  log "  pip: $(grep -cE '^(Collecting|Requirement already satisfied)' "$PIPLOG") packages resolved; $(grep -E '^(Collecting|Downloading|Installing|Building)' "$PIPLOG" | tail -n 1 | cut -c1-100)"
done
if ! wait "$PIP_PID"; then
  tail -n 40 "$PIPLOG" >&2
  die "pip install failed (full log: $PIPLOG)"
fi
grep -E '^Successfully installed' "$PIPLOG" | fold -w 160 | head -n 20 || true

log "checking the install"
"${PIP[@]}" check > "$WORK/check.txt" 2>&1 || { log "pip check reports (not fatal):"; sed 's/^/  /' "$WORK/check.txt"; }
"$VPY" - <<'PYEOF' || die "import check failed: a required module is missing"
import importlib
mods = ["homeassistant", "hass_frontend", "paho.mqtt.client", "aiohttp_cors", "aiohttp_fast_url_dispatcher",
        "aiohttp_zlib_ng", "janus", "PIL", "turbojpeg", "sqlalchemy", "securetar", "hass_nabucasa", "josepy",
        "acme"]
for m in mods:
    importlib.import_module(m)
import homeassistant.const as c
print(f"  imports ok; homeassistant {c.__version__}")
PYEOF
"$VENV/bin/hass" --version >/dev/null || die "$VENV/bin/hass does not run"

echo "$SPEC_HASH" > "$MARKER"
log "done: Home Assistant $HA_VERSION ready in $VENV"
