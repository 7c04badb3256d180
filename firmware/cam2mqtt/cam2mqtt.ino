// cam2mqtt camera firmware for the Arduino IDE (arduino-esp32 3.x core).
//
// This folder is assembled by tools/make-arduino-sketch.sh, which copies core/ and hal/esp32/ into
// src/ next to this file; then open this file in the Arduino IDE. Settings: src/c2m_build_config.h
// (optional: an unconfigured camera opens a setup portal). See firmware/README.md.
//
// Board settings: "AI Thinker ESP32-CAM" (or your board), PSRAM enabled, partition scheme with
// at least 1.9 MB per app slot for OTA (e.g. "Minimal SPIFFS").
#include "src/esp32_main.h"

void setup() { c2m_setup(); }
void loop() { c2m_loop(); }
