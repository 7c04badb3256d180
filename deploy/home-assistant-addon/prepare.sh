#!/usr/bin/env bash
# Puts the cam2mqtt package into this folder (cam2mqtt.tgz), which the add-on's Dockerfile installs:
# the Supervisor builds an add-on from its own folder only. Run from anywhere, before publishing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
npm run -s build
tgz="$(npm pack --silent --pack-destination "$here" | tail -1)"
mv -f "$here/$tgz" "$here/cam2mqtt.tgz"
echo "wrote $here/cam2mqtt.tgz (from $tgz)"
