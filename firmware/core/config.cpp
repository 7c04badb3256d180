#include "config.h"

#include <cctype>
#include <cstdlib>

#include "commands.h"
#include "json.h"
#include "ws.h"

namespace c2m {

std::string slugify(const std::string& s) {
  std::string out;
  bool gap = false;
  for (unsigned char c : s) {
    char l = static_cast<char>(tolower(c));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-') {
      if (gap && !out.empty()) out += '_';
      gap = false;
      out += l;
    } else {
      gap = true;  // a run of anything else becomes one '_' (dropped at either end)
    }
  }
  while (!out.empty() && (out.back() == '_' || out.back() == '-')) out.pop_back();
  size_t start = out.find_first_not_of("_-");
  out = start == std::string::npos ? std::string() : out.substr(start);
  if (out.size() > 48) out.resize(48);
  return out;
}

bool isValidId(const std::string& id) { return !id.empty() && id.size() <= 48 && slugify(id) == id; }

namespace {

bool getInt(ConfigStore& st, const char* key, long lo, long hi, int& out) {
  std::string v;
  if (!st.get(key, v) || v.empty()) return false;
  char* end = nullptr;
  long n = strtol(v.c_str(), &end, 10);
  if (!end || *end || n < lo || n > hi) return false;  // ignore a corrupt value, keep the default
  out = static_cast<int>(n);
  return true;
}

bool getBool(ConfigStore& st, const char* key, bool& out) {
  std::string v;
  if (!st.get(key, v) || (v != "0" && v != "1")) return false;
  out = v == "1";
  return true;
}

}  // namespace

void loadConfig(ConfigStore& st, Config& cfg) {
  std::string v;
  if (st.get("ssid", v) && !v.empty()) cfg.wifiSsid = v;
  if (st.get("pass", v)) cfg.wifiPassword = v;
  if (st.get("url", v) && !v.empty()) cfg.url = v;
  if (st.get("id", v) && isValidId(v)) cfg.id = v;
  if (st.get("token", v)) cfg.token = v;
  if (st.get("name", v)) cfg.name = v;
  CameraSettings& c = cfg.camera;
  getInt(st, "framesize", 0, kFrameSizeCount - 1, c.framesize);
  getInt(st, "quality", 4, 63, c.quality);
  if (st.get("fps", v)) {
    double f = strtod(v.c_str(), nullptr);
    if (f >= 1 && f <= 60) c.fps = f;
  }
  getBool(st, "vflip", c.vflip);
  getBool(st, "hmirror", c.hmirror);
  getInt(st, "brightness", -2, 2, c.brightness);
  getInt(st, "contrast", -2, 2, c.contrast);
  getBool(st, "motion", c.motionDetection);
  getInt(st, "pan", 0, 180, c.pan);
  getInt(st, "tilt", 0, 180, c.tilt);
  int idle = 0;
  if (getInt(st, "idle_ms", 200, 3600000, idle)) c.idleIntervalMs = static_cast<uint32_t>(idle);
}

bool saveConnection(ConfigStore& st, const Config& cfg) {
  return st.put("ssid", cfg.wifiSsid) && st.put("pass", cfg.wifiPassword) && st.put("url", cfg.url) &&
         st.put("id", cfg.id) && st.put("token", cfg.token) && st.put("name", cfg.name);
}

bool saveCameraSettings(ConfigStore& st, const CameraSettings& c) {
  std::string fps;
  jsonNumber(fps, c.fps);
  return st.put("framesize", std::to_string(c.framesize)) && st.put("quality", std::to_string(c.quality)) &&
         st.put("fps", fps) && st.put("vflip", c.vflip ? "1" : "0") && st.put("hmirror", c.hmirror ? "1" : "0") &&
         st.put("brightness", std::to_string(c.brightness)) && st.put("contrast", std::to_string(c.contrast)) &&
         st.put("motion", c.motionDetection ? "1" : "0") && st.put("pan", std::to_string(c.pan)) &&
         st.put("tilt", std::to_string(c.tilt)) && st.put("idle_ms", std::to_string(c.idleIntervalMs));
}

bool setConfigField(Config& cfg, const std::string& key, const std::string& value, std::string& err) {
  if (key == "ssid") {
    if (value.empty() || value.size() > 32) return err = "ssid: expected 1-32 characters", false;
    cfg.wifiSsid = value;
  } else if (key == "password") {
    if (value.size() > 63 || (!value.empty() && value.size() < 8))
      return err = "password: expected 8-63 characters (or empty for an open network)", false;
    cfg.wifiPassword = value;
  } else if (key == "url") {
    Url u;
    if (!parseUrl(value, u, err)) return err = "url: " + err, false;
    cfg.url = value;
  } else if (key == "id") {
    std::string id = slugify(value);
    if (id.empty()) return err = "id: expected letters or digits (a-z 0-9 _ -)", false;
    cfg.id = id;  // slugified like the bridge does, so both sides agree on the id
  } else if (key == "token") {
    cfg.token = value;
  } else if (key == "name") {
    cfg.name = value;
  } else {
    return err = "unknown setting \"" + key + "\" (ssid, password, url, id, token, name)", false;
  }
  return true;
}

std::string configProblem(const Config& cfg, bool needWifi) {
  if (needWifi && cfg.wifiSsid.empty()) return "no WiFi network (ssid) set";
  if (cfg.url.empty()) return "no bridge URL set";
  Url u;
  std::string err;
  if (!parseUrl(cfg.url, u, err)) return "bridge URL: " + err;
  if (!isValidId(cfg.id)) return "no valid camera id set";
  return std::string();
}

std::string describeConfig(const Config& cfg) {
  return "ssid=" + cfg.wifiSsid + " password=" + (cfg.wifiPassword.empty() ? "(none)" : "********") +
         " url=" + cfg.url + " id=" + cfg.id + " token=" + (cfg.token.empty() ? "(none)" : "********") +
         " name=" + cfg.name;
}

std::string SetupConsole::handle(const std::string& rawLine) {
  std::string line = rawLine;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
  size_t start = line.find_first_not_of(' ');
  if (start == std::string::npos) return std::string();
  line = line.substr(start);
  size_t sp = line.find(' ');
  std::string cmd = line.substr(0, sp);
  std::string rest = sp == std::string::npos ? std::string() : line.substr(sp + 1);
  if (cmd == "help" || cmd == "?") {
    return "commands: show | set <ssid|password|url|id|token|name> <value> | save | restart | factory-reset";
  }
  if (cmd == "show") return describeConfig(cfg_);
  if (cmd == "set") {
    size_t ksp = rest.find(' ');
    std::string key = rest.substr(0, ksp);
    std::string value = ksp == std::string::npos ? std::string() : rest.substr(ksp + 1);
    std::string err;
    if (!setConfigField(cfg_, key, value, err)) return "error: " + err;
    return "ok: " + key + (key == "password" || key == "token" ? std::string(" set") : " = " + (key == "id" ? cfg_.id : value)) +
           " (not saved yet: save)";
  }
  if (cmd == "save") {
    if (!saveConnection(store_, cfg_)) return "error: could not write the settings";
    std::string problem = configProblem(cfg_, true);
    return problem.empty() ? "saved; restart to connect" : "saved, but " + problem;
  }
  if (cmd == "restart") {
    restart_ = true;
    return "restarting";
  }
  if (cmd == "factory-reset") {
    store_.clear();
    restart_ = true;
    return "all settings erased; restarting";
  }
  return "unknown command \"" + cmd + "\" (help)";
}

}  // namespace c2m
