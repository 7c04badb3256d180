// Host stand-ins for the hardware: a camera that serves JPEG files or a generated scene (libjpeg),
// a POSIX TCP socket, the system clock, an always-up network, a file-backed config store, and a
// board whose lamp, servos and sensor settings land in a JSON state file that tests can read.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "hal.h"

namespace c2m::host {

/** Everything the stand-in hardware "does", written to --state-file after each change. */
class HostState {
 public:
  explicit HostState(std::string path) : path_(std::move(path)) {}
  void set(const std::string& key, Json value);
  const Json& json() const { return state_; }

 private:
  void write();
  std::string path_;
  Json state_ = Json::object();
};

/**
 * TCP, and TLS for wss:// (OpenSSL, when the build found it: C2M_HOST_TLS). Like the ESP32 build, the
 * bridge's certificate is verified only when a CA file is given (--ca-cert); otherwise the connection is
 * encrypted but not authenticated (WiFiClientSecure::setInsecure()).
 */
class PosixSocket : public Socket {
 public:
  ~PosixSocket() override;
  bool connect(const std::string& host, uint16_t port, bool tls, uint32_t timeoutMs, std::string& err) override;
  bool write(const uint8_t* data, size_t len) override;
  int read(uint8_t* buf, size_t len) override;
  void close() override;
  /** PEM file of the CA (or the self-signed certificate) to verify the bridge against; "" = no check. */
  void setCaFile(std::string file) { caFile_ = std::move(file); }

 private:
  bool startTls(const std::string& host, uint32_t timeoutMs, std::string& err);
  int fd_ = -1;
  std::string caFile_;
  void* ctx_ = nullptr;  // SSL_CTX*, kept across reconnects
  void* ssl_ = nullptr;  // SSL* of the current connection
};

class HostClock : public Clock {
 public:
  /** ntp: whether the "NTP" (the host's clock) counts as synced; false exercises the welcome time. */
  explicit HostClock(bool ntp) : ntp_(ntp) {}
  uint64_t millis() override;
  bool unixMs(uint64_t& out) override;

 private:
  bool ntp_;
};

class HostRandom : public Random {
 public:
  HostRandom();
  uint32_t next() override;

 private:
  uint64_t state_;
};

class HostNetwork : public Network {
 public:
  bool connected() override { return true; }
  int rssi() override { return -50; }
  std::string ip() override { return "127.0.0.1"; }
};

/** key=value lines; values escaped so that any string survives. Stands in for NVS Preferences. */
class FileStore : public ConfigStore {
 public:
  explicit FileStore(std::string path);
  bool get(const char* key, std::string& value) override;
  bool put(const char* key, const std::string& value) override;
  bool clear() override;

 private:
  bool flush();
  std::string path_;
  std::map<std::string, std::string> kv_;
};

class StdoutLogger : public Logger {
 public:
  StdoutLogger(Clock& clock, LogLevel min) : clock_(clock), min_(min) {}
  void write(LogLevel level, const std::string& msg) override;

 private:
  Clock& clock_;
  LogLevel min_;
};

class HostBoard : public Board {
 public:
  HostBoard(HostState& state, bool lamp, bool servo, char** argv) : state_(state), lamp_(lamp), servo_(servo), argv_(argv) {}
  std::string model() override { return "host"; }
  bool hasLamp() override { return lamp_; }
  void setLamp(int percent) override;
  bool hasServo() override { return servo_; }
  void setServo(int pan, int tilt) override;
  /** Re-executes this program with the same arguments: a real restart, same pid. */
  void restart() override;
  void addStatus(Json& info) override;

 private:
  HostState& state_;
  bool lamp_, servo_;
  char** argv_;
};

struct SceneOptions {
  /** Directory of .jpg files served in name order, round robin; empty = generated scene. */
  std::string framesDir;
  /** Generated scene: a square crosses the picture for passMs every periodMs (0 = only on SIGUSR1). */
  uint32_t periodMs = 0;
  uint32_t passMs = 3000;
  /** Largest frame size the stand-in sensor supports (index into kFrameSizes). */
  int maxFramesize = 15;  // UXGA, like an OV2640
};

class HostCamera : public Camera {
 public:
  HostCamera(HostState& state, Clock& clock, SceneOptions opts);
  bool load(std::string& err);
  bool capture(CameraFrame& out, bool full, std::string& err) override;
  void release(CameraFrame& frame) override;
  bool toGray(const CameraFrame& frame, std::vector<uint8_t>& gray, int& w, int& h) override;
  bool apply(const Command& cmd, std::string& err) override;
  bool rawSetting(const std::string& key, const std::string& value, Json& result, std::string& err) override;
  std::string sensor() override { return opts_.framesDir.empty() ? "host-scene" : "host-files"; }

  /** Start a pass of the moving square now (SIGUSR1). */
  static std::atomic<bool> passRequested;

 private:
  bool generate(int width, int height, uint64_t nowMs, std::vector<uint8_t>& jpeg, std::string& err);

  HostState& state_;
  Clock& clock_;
  SceneOptions opts_;
  std::vector<std::vector<uint8_t>> files_;
  size_t next_ = 0;
  std::vector<uint8_t> generated_;
  int framesize_ = 10;
  int quality_ = 12;
  bool vflip_ = false, hmirror_ = false;
  int brightness_ = 0, contrast_ = 0;
  uint64_t passStart_ = 0;
  bool passActive_ = false;
  uint64_t lastPeriod_ = 0;
  uint32_t noiseSeed_ = 1;
};

/** Width/height from a JPEG's SOF marker; false if there is none. */
bool jpegSize(const uint8_t* data, size_t len, int& w, int& h);

}  // namespace c2m::host
