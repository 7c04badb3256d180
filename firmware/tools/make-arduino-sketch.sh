#!/bin/sh
# Assemble the Arduino IDE sketch: copy core/ and hal/esp32/ flat into cam2mqtt/src/ (the IDE only
# compiles files inside the sketch folder). Run again after pulling changes.
#
#   sh firmware/tools/make-arduino-sketch.sh [OUTDIR]     (default: firmware/cam2mqtt)
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$here/cam2mqtt}"
mkdir -p "$out/src"
rm -f "$out"/src/*.h "$out"/src/*.cpp
cp "$here"/core/*.h "$here"/core/*.cpp "$here"/hal/esp32/*.h "$here"/hal/esp32/*.cpp "$out/src/"
[ "$out" = "$here/cam2mqtt" ] || cp "$here/cam2mqtt/cam2mqtt.ino" "$out/"
echo "sketch ready: $out/cam2mqtt.ino (settings: $out/src/c2m_build_config.h)"
