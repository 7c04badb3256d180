#!/usr/bin/env bash
# Runs the tests against REAL Home Assistants: test/ha/*.ha.ts, compiled by tsc to
# dist/test/ha/*.ha.js and run with node's test runner (one file at a time: each starts its own HA),
# once per Home Assistant of the matrix (a "leg"):
#   2024.3.3   the oldest supported, in a venv on the machine's Python 3.11 (.ci/install-ha.sh)
#   2026.11.0  the newest, in a Debian sid chroot with Python 3.14 (.ci/install-ha-chroot.sh)
#
#   bash .ci/run-ha.sh                        install what is missing, build, run every leg
#   HA_VERSIONS=2026.11.0 bash .ci/run-ha.sh  one leg
#   bash .ci/run-ha.sh smoke                  only files whose name contains "smoke"
#   HA_SKIP_BUILD=1 bash .ci/run-ha.sh        skip the build (the caller already ran `npm run build`)
#
# A leg whose HA cannot be installed: with CI=true (or HA_REQUIRED=1) the run fails loudly; otherwise
# it prints why and skips that leg, so a machine without root or Python 3.11 still runs the rest.
# Prints the time of each leg at the end.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO"

# The matrix. Adding a Home Assistant: one word here (and, if it needs another Python, its Debian
# suite in .ci/install-ha-chroot.sh), plus its row in src/ha/ha-versions.ts.
HA_VERSIONS="${HA_VERSIONS:-2024.3.3 2026.11.0}"
VENV_VERSION=2024.3.3 # the one leg that runs on the machine's own Python

REQUIRED=0
if [ "${CI:-}" = true ] || [ "${HA_REQUIRED:-0}" = 1 ]; then REQUIRED=1; fi
export HA_CACHE_DIR="${HA_CACHE_DIR:-$HOME/.cache/cam2mqtt-ha}"

if [ "${HA_SKIP_BUILD:-0}" != 1 ]; then
  echo "== run-ha: building (npm run build: tsc and the page)"
  npm run -s build || exit 1
fi

shopt -s nullglob
files=()
for src in test/ha/*.ha.ts; do
  name="$(basename "$src" .ts)"
  if [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]]; then continue; fi
  js="dist/test/ha/$name.js"
  [ -f "$js" ] || { echo "== run-ha: $js missing: did the build run?" >&2; exit 1; }
  files+=("$js")
done
if [ "${#files[@]}" -eq 0 ]; then
  echo "== run-ha: no HA test files matched" >&2
  exit 1
fi

summary=()
failed=0
for v in $HA_VERSIONS; do
  echo
  echo "== run-ha: Home Assistant $v: installing (cached after the first run)"
  t0=$(date +%s)
  leg_env=()
  if [ "$v" = "$VENV_VERSION" ]; then
    export HA_VENV="${HA_VENV:-$HA_CACHE_DIR/ha-venv}"
    if bash "$SCRIPT_DIR/install-ha.sh"; then ok=1; else ok=0; fi
    leg_env=(HA_VERSION="$v" HA_VENV="$HA_VENV")
  else
    if root="$(bash "$SCRIPT_DIR/install-ha-chroot.sh" "$v")"; then ok=1; else ok=0; fi
    leg_env=(HA_VERSION="$v" HA_CHROOT="${root:-}")
  fi
  if [ "$ok" != 1 ]; then
    if [ "$REQUIRED" = 1 ]; then
      echo "== run-ha: FAILED: Home Assistant $v could not be installed (see the error above); its leg cannot run" >&2
      summary+=("$v: NOT INSTALLED")
      failed=1
      continue
    fi
    echo "== run-ha: WARNING: Home Assistant $v could not be installed (see above); skipping its leg (not CI)" >&2
    summary+=("$v: skipped (not installed)")
    continue
  fi
  t1=$(date +%s)
  echo "== run-ha: Home Assistant $v: install step $((t1 - t0)) s; running ${files[*]}"
  if env "${leg_env[@]}" HA_REQUIRED="$REQUIRED" node --test --test-concurrency=1 \
    --test-timeout="${HA_TEST_TIMEOUT_MS:-600000}" "${files[@]}"; then
    res=passed
  else
    res=FAILED
    failed=1
  fi
  summary+=("$v: $res, suite $(($(date +%s) - t1)) s (install step $((t1 - t0)) s)")
done

echo
echo "== run-ha: summary"
for s in "${summary[@]}"; do echo "   $s"; done
exit "$failed"
