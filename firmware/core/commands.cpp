#include "commands.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace c2m {

const char* const kFrameSizes[] = {
    "96X96", "QQVGA", "128X128", "QCIF", "HQVGA", "240X240", "QVGA", "320X320", "CIF", "HVGA", "VGA", "SVGA",
    "XGA", "HD", "SXGA", "UXGA", "FHD", "P_HD", "P_3MP", "QXGA", "QHD", "WQXGA", "P_FHD", "QSXGA",
};
const int kFrameSizeCount = sizeof(kFrameSizes) / sizeof(kFrameSizes[0]);

// Pixel sizes from esp32-camera's resolution table, same order as kFrameSizes.
static const uint16_t kDims[][2] = {
    {96, 96}, {160, 120}, {128, 128}, {176, 144}, {240, 176}, {240, 240}, {320, 240}, {320, 320},
    {400, 296}, {480, 320}, {640, 480}, {800, 600}, {1024, 768}, {1280, 720}, {1280, 1024}, {1600, 1200},
    {1920, 1080}, {720, 1280}, {864, 1536}, {2048, 1536}, {2560, 1440}, {2560, 1600}, {1080, 1920}, {2560, 1920},
};
static_assert(sizeof(kDims) / sizeof(kDims[0]) == sizeof(kFrameSizes) / sizeof(kFrameSizes[0]), "one size per name");

static std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}
static std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}
static std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

int frameSizeIndex(const std::string& name) {
  std::string u = upper(trim(name));
  for (int i = 0; i < kFrameSizeCount; ++i)
    if (u == kFrameSizes[i]) return i;
  return -1;
}

bool frameSizeDims(int index, int& width, int& height) {
  if (index < 0 || index >= kFrameSizeCount) return false;
  width = kDims[index][0];
  height = kDims[index][1];
  return true;
}

namespace {

struct Entry {
  const char* name;
  Control control;
};
const Entry kControls[] = {
    {"lamp", Control::Lamp}, {"framesize", Control::Framesize}, {"quality", Control::Quality},
    {"fps", Control::Fps}, {"vflip", Control::Vflip}, {"hmirror", Control::Hmirror},
    {"pause", Control::Pause}, {"motion_detection", Control::MotionDetection},
    {"brightness", Control::Brightness}, {"contrast", Control::Contrast}, {"pan", Control::Pan},
    {"tilt", Control::Tilt}, {"snapshot", Control::Snapshot}, {"restart", Control::Restart},
    {"status", Control::Status}, {"raw", Control::Raw},
};

std::string show(const Json* v) { return v ? v->dump() : std::string("nothing"); }

/** A number from a JSON number or a numeric string; false otherwise. */
bool toNumber(const Json* v, double& out) {
  if (!v) return false;
  if (v->isNumber()) {
    out = v->asDouble();
    return true;
  }
  if (v->isString()) {
    std::string s = trim(v->asString());
    if (s.empty()) return false;
    char* end = nullptr;
    out = strtod(s.c_str(), &end);
    return end && *end == '\0' && std::isfinite(out);
  }
  return false;
}

bool toBool(const Json* v, bool& out) {
  if (!v) return false;
  if (v->isBool()) {
    out = v->asBool();
    return true;
  }
  if (v->isInt() && (v->asInt() == 0 || v->asInt() == 1)) {
    out = v->asInt() == 1;
    return true;
  }
  if (v->isString()) {
    std::string s = lower(trim(v->asString()));
    if (s == "on" || s == "true" || s == "1" || s == "yes") return out = true, true;
    if (s == "off" || s == "false" || s == "0" || s == "no") return out = false, true;
  }
  return false;
}

bool range(const char* name, const Json* v, int lo, int hi, int& out, std::string& err) {
  double d;
  if (toNumber(v, d) && d == std::floor(d) && d >= lo && d <= hi) {
    out = static_cast<int>(d);
    return true;
  }
  err = std::string(name) + ": expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
        ", got " + show(v);
  return false;
}

}  // namespace

const char* controlName(Control c) {
  for (const Entry& e : kControls)
    if (e.control == c) return e.name;
  return "?";
}

bool parseCommand(const std::string& rawName, const Json* value, Command& out, std::string& err) {
  std::string name = lower(trim(rawName));
  const Entry* entry = nullptr;
  for (const Entry& e : kControls)
    if (name == e.name) entry = &e;
  if (!entry) {
    err = "unknown command \"" + rawName + "\"";
    return false;
  }
  out = Command{};
  out.control = entry->control;
  switch (entry->control) {
    case Control::Snapshot:
    case Control::Restart:
    case Control::Status:
      return true;  // a value, if any, is ignored (the bridge never sends one)
    case Control::Raw:
      if (!value || !value->isString() || trim(value->asString()).empty()) {
        err = "raw: expected a non-empty command string";
        return false;
      }
      out.text = trim(value->asString());
      return true;
    case Control::Vflip:
    case Control::Hmirror:
    case Control::Pause:
    case Control::MotionDetection:
      if (toBool(value, out.flag)) return true;
      err = name + ": expected true/false, on/off or 1/0, got " + show(value);
      return false;
    case Control::Lamp: {
      // Percent; true/"on" = full brightness, as the bridge normalises it.
      bool on;
      double pct;
      bool numeric = value && !value->isBool() && toNumber(value, pct);
      if (!numeric && toBool(value, on)) {
        out.integer = on ? 100 : 0;
        return true;
      }
      return range("lamp", value, 0, 100, out.integer, err);
    }
    case Control::Framesize: {
      int idx = value && value->isString() ? frameSizeIndex(value->asString()) : -1;
      if (idx < 0) {
        err = "framesize: expected an esp32-camera size name such as QVGA, VGA or UXGA, got " + show(value);
        return false;
      }
      out.integer = idx;
      out.text = kFrameSizes[idx];
      return true;
    }
    case Control::Quality: return range("quality", value, 4, 63, out.integer, err);
    case Control::Brightness: return range("brightness", value, -2, 2, out.integer, err);
    case Control::Contrast: return range("contrast", value, -2, 2, out.integer, err);
    case Control::Pan: return range("pan", value, 0, 180, out.integer, err);
    case Control::Tilt: return range("tilt", value, 0, 180, out.integer, err);
    case Control::Fps:
      if (toNumber(value, out.number) && out.number >= 1 && out.number <= 60) return true;
      err = "fps: expected a number from 1 to 60, got " + show(value);
      return false;
  }
  err = "unknown command \"" + rawName + "\"";
  return false;
}

bool parseCommandText(const std::string& text, Command& out, std::string& err) {
  std::string t = trim(text);
  size_t eq = t.find('=');
  std::string name = trim(t.substr(0, eq));
  if (lower(name) == "raw") {  // no raw inside raw
    err = "unknown command \"raw\"";
    return false;
  }
  if (eq == std::string::npos) return parseCommand(name, nullptr, out, err);
  Json value(trim(t.substr(eq + 1)));
  return parseCommand(name, &value, out, err);
}

}  // namespace c2m
