// Commands from the bridge (cmd.name + cmd.value) parsed and validated on the camera.
//
// The ranges mirror the bridge's own validation (src/hub/controls.ts, docs/protocol.md) so a value the
// bridge accepts is never refused here and vice versa; values are accepted in the same lenient forms
// (true/"on"/1 for toggles, numeric strings) because raw text commands ("quality=10") arrive as strings.
#pragma once

#include <cstdint>
#include <string>

#include "json.h"

namespace c2m {

enum class Control : uint8_t {
  Lamp, Framesize, Quality, Fps, Vflip, Hmirror, Pause, MotionDetection,
  Brightness, Contrast, Pan, Tilt, Snapshot, Restart, Status, Raw,
};

struct Command {
  Control control = Control::Status;
  /** lamp 0..100, quality, brightness, contrast, pan, tilt; framesize index into kFrameSizes. */
  int integer = 0;
  /** fps (may be fractional, e.g. 0.5 is refused but 7.5 is fine). */
  double number = 0;
  /** vflip, hmirror, pause, motion_detection. */
  bool flag = false;
  /** raw command text; framesize name. */
  std::string text;
};

const char* controlName(Control c);

/** esp32-camera frame size names in the order of the current framesize_t enum. */
extern const char* const kFrameSizes[];
extern const int kFrameSizeCount;
/** Index into kFrameSizes (case-insensitive), or -1. */
int frameSizeIndex(const std::string& name);
/** Pixel size of a frame size index; false for an invalid index. */
bool frameSizeDims(int index, int& width, int& height);

/** Validate cmd.name / cmd.value. value may be nullptr (no value). False with a user-readable err. */
bool parseCommand(const std::string& name, const Json* value, Command& out, std::string& err);

/**
 * "name=value" or "name" text (a raw command, a serial console line) as a command: the value is taken
 * as a string and converted like the bridge converts query/form values. Returns false with err when
 * the name is not a control; the caller may then treat it as a firmware-specific setting.
 */
bool parseCommandText(const std::string& text, Command& out, std::string& err);

}  // namespace c2m
