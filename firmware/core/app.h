// The firmware's main loop, platform-free: connection to the bridge (hello, welcome, keepalive,
// reconnect with backoff), demand-driven capturing and sending, motion detection, commands with acks,
// status. The ESP32 sketch and the host binary both run exactly this, with their own HAL objects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backoff.h"
#include "config.h"
#include "hal.h"
#include "motion.h"
#include "protocol.h"
#include "rate.h"
#include "ws.h"

namespace c2m {

#ifndef C2M_FIRMWARE_VERSION
#define C2M_FIRMWARE_VERSION "1.0.0"
#endif

struct AppEnv {
  Clock& clock;
  Random& random;
  Socket& socket;
  Network& network;
  Camera& camera;
  Board& board;
  ConfigStore& store;
  Logger& logger;
};

struct AppTiming {
  /** WebSocket ping interval: the bridge drops a camera that is silent for 20 s (docs/protocol.md). */
  uint32_t pingIntervalMs = 5000;
  /** Nothing at all from the bridge for this long (not even a pong): the connection is dead. */
  uint32_t silenceTimeoutMs = 30000;
  /** The bridge must welcome us this long after hello. */
  uint32_t welcomeTimeoutMs = 15000;
  /** Periodic info (rssi, heap, uptime) while connected. */
  uint32_t infoIntervalMs = 60000;
  BackoffConfig backoff;
};

class App : public WsHandler {
 public:
  App(AppEnv env, Config cfg, AppTiming timing = {});

  /** Apply the stored camera settings; call once after the camera is up. */
  void begin();
  /** One loop iteration. Returns how long the caller may sleep before the next one (ms). */
  uint32_t loop();
  /** Close the connection properly (1001) before power-off or exit; waits up to 1 s for the bridge. */
  void shutdown();

  // What the status shows; also handy for tests.
  bool ready() const { return ready_; }
  const Config& config() const { return cfg_; }
  Json info();

  // WsHandler
  void onWsOpen() override;
  void onWsText(const char* data, size_t len) override;
  void onWsBinary(const uint8_t* data, size_t len) override;
  void onWsClose(uint16_t code, const std::string& reason) override;

 private:
  void log(LogLevel level, const std::string& msg);
  /** log() plus a `log` message to the bridge when connected. */
  void report(LogLevel level, const std::string& msg);
  void connect(uint64_t now);
  void captureAndSend(uint64_t now);
  bool sendFrame(const CameraFrame& f, uint64_t monoMs, uint8_t extraFlags);
  /** Capture time for the wire: Unix ms (flag set) once NTP or the bridge's welcome gave us the time. */
  uint64_t wireTime(uint64_t monoMs, uint8_t& flags);
  void sendText(const std::string& text);
  void sendInfo(const Json& changes);
  void setMotion(bool on, const Region* region, uint64_t now);

  void handleCmd(const Cmd& cmd);
  /** Execute a validated command; fills result or err. */
  bool execute(const Command& c, Json& result, std::string& err);
  bool executeRaw(const std::string& text, Json& result, std::string& err);
  Hello makeHello();
  std::vector<std::string> caps();
  void persist();

  AppEnv env_;
  Config cfg_;
  AppTiming timing_;
  WsClient ws_;
  Backoff backoff_;
  RateControl rate_;
  MotionDetector motion_;
  Url url_;
  bool urlOk_ = false;

  // Connection state.
  bool ready_ = false;  // welcomed
  bool stopping_ = false;
  uint64_t nextAttempt_ = 0;
  uint64_t helloAt_ = 0;
  uint64_t lastPing_ = 0;
  uint64_t lastInfo_ = 0;
  uint16_t lastCloseCode_ = 0;
  bool wifiUp_ = false;
  // Bridge time from welcome, for cameras without NTP: unix = welcomeUnix + (mono - welcomeMono).
  bool haveBridgeTime_ = false;
  uint64_t welcomeUnix_ = 0, welcomeMono_ = 0;

  uint32_t seq_ = 0;
  int lamp_ = 0;
  bool paused_ = false;
  uint64_t lastCaptureError_ = 0;
  uint64_t lastMotionCheck_ = 0;
  uint64_t restartAt_ = 0;
  std::vector<uint8_t> gray_;
  uint64_t framesSent_ = 0;
};

}  // namespace c2m
