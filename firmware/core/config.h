// What a camera needs to know (WiFi, bridge URL, id, token) and the camera settings it keeps across
// reboots, plus the interface to where they are stored (NVS Preferences on the ESP32, a file on the
// host). Build-time values (build_config.h) are the defaults; stored values win over them, so a
// camera can be set up without recompiling (serial console or setup portal).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace c2m {

/** Camera settings that commands change and that survive a reboot. */
struct CameraSettings {
  int framesize = 10;  // index into kFrameSizes: VGA
  int quality = 12;
  double fps = 10;
  bool vflip = false;
  bool hmirror = false;
  int brightness = 0;
  int contrast = 0;
  bool motionDetection = true;
  int pan = 90;
  int tilt = 90;
  uint32_t idleIntervalMs = 5000;
};

struct Config {
  std::string wifiSsid;
  std::string wifiPassword;
  /** Bridge URL: ws://host:9090/api/camera (see parseUrl for the forgiving forms). */
  std::string url;
  std::string id;
  std::string token;
  std::string name;
  CameraSettings camera;
};

/** Key/value storage. Keys are at most 15 characters (an NVS limit). */
class ConfigStore {
 public:
  virtual ~ConfigStore() = default;
  virtual bool get(const char* key, std::string& value) = 0;
  virtual bool put(const char* key, const std::string& value) = 0;
  /** Forget everything (factory reset). */
  virtual bool clear() = 0;
};

/** Camera ids like the bridge's slugify(): lower-case a-z 0-9 _ -, other runs become '_', max 48. */
std::string slugify(const std::string& s);
bool isValidId(const std::string& id);

/** Overlay stored values on cfg (which holds the build-time defaults). */
void loadConfig(ConfigStore& store, Config& cfg);
/** Store the connection fields (ssid, password, url, id, token, name). */
bool saveConnection(ConfigStore& store, const Config& cfg);
/** Store the camera settings. */
bool saveCameraSettings(ConfigStore& store, const CameraSettings& s);

/**
 * Set one field by its setup name: ssid, password, url, id, token, name (the serial console and the
 * setup portal use the same names and validation). False with err for a bad value or unknown key.
 */
bool setConfigField(Config& cfg, const std::string& key, const std::string& value, std::string& err);
/** Empty if the camera can try to connect; else what is missing, for the user. needWifi: ESP32 yes, host no. */
std::string configProblem(const Config& cfg, bool needWifi);
/** The configuration for people (password and token masked). */
std::string describeConfig(const Config& cfg);

/**
 * The serial setup prompt: one line in, the reply out. Commands: help, show, set <key> <value>,
 * save, restart, factory-reset. `save` stores the connection fields; the caller restarts on request.
 */
class SetupConsole {
 public:
  SetupConsole(Config& cfg, ConfigStore& store) : cfg_(cfg), store_(store) {}
  std::string handle(const std::string& line);
  bool restartRequested() const { return restart_; }

 private:
  Config& cfg_;
  ConfigStore& store_;
  bool restart_ = false;
};

}  // namespace c2m
