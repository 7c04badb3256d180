// The seams between the portable firmware (core/) and a platform: hal/esp32 implements them with
// esp_camera, WiFi and LEDC; hal/host with JPEG files, POSIX sockets and a state file, so the very
// same App (core/app.h) runs on the host against a real bridge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "json.h"

namespace c2m {

class Clock {
 public:
  virtual ~Clock() = default;
  /** Monotonic ms since boot. */
  virtual uint64_t millis() = 0;
  /** Unix ms if the clock is synced (NTP); false before that. */
  virtual bool unixMs(uint64_t& out) = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual uint32_t next() = 0;
};

/** A byte stream to the bridge: TCP, or TLS for wss:// where the platform has it. */
class Socket {
 public:
  virtual ~Socket() = default;
  /** Blocking connect with a timeout. */
  virtual bool connect(const std::string& host, uint16_t port, bool tls, uint32_t timeoutMs, std::string& err) = 0;
  /** Write everything (may block up to the platform's write timeout); false if the connection failed. */
  virtual bool write(const uint8_t* data, size_t len) = 0;
  /** Non-blocking read: bytes read, 0 if nothing is available, -1 if the connection is closed. */
  virtual int read(uint8_t* buf, size_t len) = 0;
  virtual void close() = 0;
};

class Network {
 public:
  virtual ~Network() = default;
  /** Keep the link up (reconnect WiFi); called every loop. */
  virtual void poll(uint64_t nowMs) { (void)nowMs; }
  virtual bool connected() = 0;
  /** dBm, 0 if unknown. */
  virtual int rssi() = 0;
  virtual std::string ip() = 0;
};

struct CameraFrame {
  const uint8_t* jpeg = nullptr;
  size_t len = 0;
  int width = 0;
  int height = 0;
  /** Platform handle to give the buffer back (camera_fb_t* on the ESP32). */
  void* handle = nullptr;
};

class Camera {
 public:
  virtual ~Camera() = default;
  /** Grab a JPEG. full = at the sensor's largest frame size (snapshot command). */
  virtual bool capture(CameraFrame& out, bool full, std::string& err) = 0;
  virtual void release(CameraFrame& frame) = 0;
  /** The frame as grayscale at about 1/8 of its size, for the motion detector. */
  virtual bool toGray(const CameraFrame& frame, std::vector<uint8_t>& gray, int& w, int& h) = 0;
  /** framesize, quality, vflip, hmirror, brightness, contrast. err is shown to the user on failure. */
  virtual bool apply(const Command& cmd, std::string& err) = 0;
  /** Firmware-specific sensor settings from raw commands ("xclk=20", "saturation=1"). */
  virtual bool rawSetting(const std::string& key, const std::string& value, Json& result, std::string& err) {
    (void)key, (void)value, (void)result;
    err = "unknown setting";
    return false;
  }
  /** Sensor name for the info ("OV2640"). */
  virtual std::string sensor() = 0;
};

/** Everything else the board does: lamp, servos, restart, health values, OTA. */
class Board {
 public:
  virtual ~Board() = default;
  virtual std::string model() = 0;
  virtual bool hasLamp() = 0;
  virtual void setLamp(int percent) = 0;
  virtual bool hasServo() = 0;
  virtual void setServo(int pan, int tilt) = 0;
  /** Reboot (the App sends its ack first). */
  virtual void restart() = 0;
  /** heap, psram, temperature, reset_reason... as the platform knows them. */
  virtual void addStatus(Json& info) = 0;
  /** OTA from a URL (raw command "ota=<url>"); false + err if the platform cannot. */
  virtual bool startOta(const std::string& url, std::string& err) {
    (void)url;
    err = "OTA is not available on this platform";
    return false;
  }
  /** Background work (OTA listener, setup portal); called every loop. */
  virtual void poll(uint64_t nowMs) { (void)nowMs; }
};

enum class LogLevel : uint8_t { Debug, Info, Warn, Error };
const char* logLevelName(LogLevel l);

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void write(LogLevel level, const std::string& msg) = 0;
};

}  // namespace c2m
