// Reconnect delays for the bridge connection (docs/protocol.md, "Reconnect"): 1 s doubling to 60 s
// with +-25 % jitter, back to 1 s after a connection that lasted 60 s, and straight to the maximum
// after close codes that retrying cannot fix (4001 wrong token, 4003 unknown camera).
//
// Jitter matters: after a bridge restart every camera of a house would otherwise reconnect in the same
// millisecond, every time.
#pragma once

#include <cstdint>

namespace c2m {

struct BackoffConfig {
  uint32_t initialMs = 1000;
  uint32_t maxMs = 60000;
  /** +- this many percent, uniformly. */
  uint32_t jitterPercent = 25;
  /** A connection that lasted this long resets the delay to initialMs. */
  uint32_t stableMs = 60000;
};

class Backoff {
 public:
  explicit Backoff(BackoffConfig cfg = {}) : cfg_(cfg) {}

  /** The connection came up at nowMs (the WebSocket opened and the bridge welcomed us). */
  void connected(uint64_t nowMs);
  /**
   * The connection ended (or an attempt failed) at nowMs with a WebSocket close code (0 if none,
   * e.g. TCP refused). Returns the delay in ms before the next attempt; rnd is any uniform 32-bit value.
   */
  uint32_t nextDelay(uint64_t nowMs, uint16_t closeCode, uint32_t rnd);

  /** Attempts since the last stable connection (1 = the first retry). */
  uint32_t attempt() const { return attempt_; }
  void reset() { attempt_ = 0; connectedAt_ = 0; up_ = false; atMax_ = false; }

 private:
  BackoffConfig cfg_;
  uint32_t attempt_ = 0;
  uint64_t connectedAt_ = 0;
  bool up_ = false;
  bool atMax_ = false;
};

/** Close codes after which fast retries cannot succeed. */
inline bool isFatalCloseCode(uint16_t code) { return code == 4001 || code == 4003; }

}  // namespace c2m
