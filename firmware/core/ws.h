// A small RFC 6455 WebSocket client over the platform's Socket.
//
// Why our own: it runs unchanged on the host (tests against the real bridge) and on the ESP32 (over
// WiFiClient), so the code that talks to the bridge on a camera is the code the host tests exercise.
// It also lets a frame go out as one message straight from the camera buffer: the 16-byte frame
// header and the JPEG are masked chunk by chunk into a small buffer, never copied whole.
//
// Client side of the RFC only: masks what it sends, requires unmasked server frames, reassembles
// fragmented messages, answers pings, reports the close code, checks Sec-WebSocket-Accept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hal.h"

namespace c2m {

struct Url {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string path;
};

/**
 * ws://host:port/path or wss://. Forgiving for people typing it into a setup page: no scheme means
 * ws:// on the bridge's default port 9090, http(s):// is taken as ws(s)://, and a missing path is
 * the bridge's camera endpoint /api/camera.
 */
bool parseUrl(const std::string& text, Url& out, std::string& err);

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  virtual void onWsOpen() = 0;
  virtual void onWsText(const char* data, size_t len) = 0;
  virtual void onWsBinary(const uint8_t* data, size_t len) = 0;
  /** The connection is gone: code from the server's close frame, or 1006 (no close frame / failed). */
  virtual void onWsClose(uint16_t code, const std::string& reason) = 0;
};

class WsClient {
 public:
  enum class State : uint8_t { Closed, Handshake, Open, Closing };

  WsClient(Socket& socket, Random& rnd) : sock_(socket), rnd_(rnd) {}

  /** TCP connect and send the upgrade request; then poll() until onWsOpen or onWsClose. */
  bool connect(const Url& url, uint64_t nowMs, const std::string& userAgent, std::string& err);
  /** Read and dispatch; also enforces the handshake and closing timeouts. */
  void poll(uint64_t nowMs, WsHandler& h);

  bool sendText(const std::string& text);
  /** One binary message made of two parts (frame header + JPEG), sent without joining them. */
  bool sendBinary(const uint8_t* a, size_t alen, const uint8_t* b = nullptr, size_t blen = 0);
  bool sendPing();
  /** Start the closing handshake; onWsClose follows from poll() when the server answers or after 2 s. */
  void close(uint16_t code, const std::string& reason, uint64_t nowMs);
  /** Drop the connection at once (no close frame); onWsClose(1006) follows on the next poll(). */
  void abort(const std::string& reason);

  State state() const { return state_; }
  bool open() const { return state_ == State::Open; }
  /** Last time anything arrived from the server (for keepalive). */
  uint64_t lastReceivedMs() const { return lastRx_; }
  void setMaxMessageBytes(size_t n) { maxMessage_ = n; }
  /** Bytes and messages sent on this connection (for stats). */
  uint64_t bytesSent() const { return bytesSent_; }

 private:
  bool writeFrame(uint8_t opcode, const uint8_t* a, size_t alen, const uint8_t* b, size_t blen);
  bool handshakeDone(WsHandler& h);
  bool parseFrames(uint64_t nowMs, WsHandler& h);
  void finish(WsHandler& h, uint16_t code, const std::string& reason);
  void fail(uint16_t code, const std::string& reason);

  Socket& sock_;
  Random& rnd_;
  // Send buffer: two TCP segments' worth (with TCP_NODELAY every write may become a segment), and a
  // member rather than a stack array because the ESP32's loop task has only 8 kB of stack.
  uint8_t tx_[2920];
  State state_ = State::Closed;
  std::string expectedAccept_;
  std::vector<uint8_t> rx_;
  size_t rxPos_ = 0;
  std::vector<uint8_t> msg_;
  uint8_t msgOpcode_ = 0;
  size_t maxMessage_ = 256 * 1024;
  uint64_t deadline_ = 0;
  uint64_t lastRx_ = 0;
  uint64_t bytesSent_ = 0;
  // Set when the connection must end; reported by the next poll().
  bool pendingClose_ = false;
  uint16_t closeCode_ = 1006;
  std::string closeReason_;
};

}  // namespace c2m
