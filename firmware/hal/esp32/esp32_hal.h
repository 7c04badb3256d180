// The ESP32 side of core/hal.h: thin wrappers over arduino-esp32 (2.x and 3.x) and esp32-camera.
// Everything with logic in it lives in core/ and is tested on the host; keep this layer boring.
#pragma once

#include <Arduino.h>
#include <Preferences.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>

#include <string>
#include <vector>

#include "config.h"
#include "hal.h"

namespace c2m::esp32 {

class Esp32Clock : public Clock {
 public:
  // esp_timer is 64-bit: Arduino's millis() wraps after 49 days, which would freeze the scheduler.
  uint64_t millis() override;
  /** Unix ms once SNTP has set the clock (configTime() in esp32_main.cpp). */
  bool unixMs(uint64_t& out) override;
};

class Esp32Random : public Random {
 public:
  uint32_t next() override;  // esp_random(): hardware RNG (true random while WiFi is on)
};

/** WiFiClient for ws://, WiFiClientSecure for wss://. */
class Esp32Socket : public Socket {
 public:
  bool connect(const std::string& host, uint16_t port, bool tls, uint32_t timeoutMs, std::string& err) override;
  bool write(const uint8_t* data, size_t len) override;
  int read(uint8_t* buf, size_t len) override;
  void close() override;

 private:
  WiFiClient plain_;
  WiFiClientSecure secure_;
  Client* active_ = nullptr;
};

/** Station mode with our own reconnect (WiFi.setAutoReconnect alone does not recover from every state). */
class Esp32Network : public Network {
 public:
  void begin(const std::string& ssid, const std::string& password, const std::string& hostname);
  void poll(uint64_t nowMs) override;
  bool connected() override { return WiFi.status() == WL_CONNECTED; }
  int rssi() override { return connected() ? WiFi.RSSI() : 0; }
  std::string ip() override { return WiFi.localIP().toString().c_str(); }
  /** Ever connected since boot (the setup portal opens if not, after a while). */
  bool everConnected() const { return everConnected_; }

 private:
  std::string ssid_, password_;
  uint64_t lastAttempt_ = 0;
  bool everConnected_ = false;
};

/** NVS via Preferences, namespace "cam2mqtt". */
class PrefsStore : public ConfigStore {
 public:
  bool begin();
  bool get(const char* key, std::string& value) override;
  bool put(const char* key, const std::string& value) override;
  bool clear() override;

 private:
  Preferences prefs_;
};

class Esp32Camera : public Camera {
 public:
  /** esp_camera_init with the board's pins; PSRAM decides buffer count, location and the largest size. */
  bool begin(std::string& err);
  bool capture(CameraFrame& out, bool full, std::string& err) override;
  void release(CameraFrame& frame) override;
  bool toGray(const CameraFrame& frame, std::vector<uint8_t>& gray, int& w, int& h) override;
  bool apply(const Command& cmd, std::string& err) override;
  bool rawSetting(const std::string& key, const std::string& value, Json& result, std::string& err) override;
  std::string sensor() override { return sensorName_; }

 private:
  bool ready_ = false;
  bool dropNext_ = false;   // after a snapshot: one full-size frame is still queued
  int framesize_ = -1;      // index into kFrameSizes, as last applied
  int maxFramesize_ = 11;   // SVGA without PSRAM: the frame buffers are sized at init
  std::string sensorName_ = "none";
};

class Esp32Board : public Board {
 public:
  void begin();
  std::string model() override { return BOARD_NAME; }
  bool hasLamp() override;
  void setLamp(int percent) override;
  bool hasServo() override;
  void setServo(int pan, int tilt) override;
  void restart() override;
  void addStatus(Json& info) override;
  bool startOta(const std::string& url, std::string& err) override;
  void poll(uint64_t nowMs) override;
  /** ArduinoOTA (upload from the IDE / PlatformIO over the network). */
  void beginOta(const std::string& hostname, const std::string& password);

  static const char* const BOARD_NAME;

 private:
  bool otaStarted_ = false;
};

class SerialLogger : public Logger {
 public:
  void write(LogLevel level, const std::string& msg) override;
};

/**
 * First-time setup without recompiling: an open access point "cam2mqtt-setup-XXXX" with a captive
 * page at http://192.168.4.1 that takes WiFi, bridge URL, camera id, token and name, validated by
 * core/config.cpp like the serial console, saved to NVS; then the camera restarts.
 */
class SetupPortal {
 public:
  /** timeoutMs: restart after this long without a client (0 = stay until saved). */
  void begin(Config& cfg, ConfigStore& store, Logger& log, uint32_t timeoutMs);
  void poll();
  bool active() const { return active_; }

 private:
  bool active_ = false;
  uint32_t timeoutMs_ = 0;
  uint32_t startedAt_ = 0;
};

}  // namespace c2m::esp32
