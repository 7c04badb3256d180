// When to capture and when to send: demand-driven frame rate (docs/protocol.md, `demand`).
//
// Sending is what costs (WiFi airtime, the bridge's bandwidth), so frames go out at the full rate only
// while the bridge says someone watches or while our own motion is on; otherwise one frame every
// idleIntervalMs keeps the bridge's picture fresh. Capturing continues at a modest sampling rate while
// motion detection is on, because the detector needs frames to notice motion in the first place.
#pragma once

#include <cstdint>

namespace c2m {

struct RateConfig {
  /** Full frame rate (the `fps` command), 1..60. */
  double fps = 10;
  /** Idle rate: one frame per this many ms while nobody watches. */
  uint32_t idleIntervalMs = 5000;
  /** Capture rate for the motion detector while idle. */
  double motionSampleFps = 4;
};

class RateControl {
 public:
  explicit RateControl(RateConfig cfg = {}) : cfg_(cfg) {}

  void setFps(double fps) { cfg_.fps = fps; }
  void setIdleInterval(uint32_t ms) { cfg_.idleIntervalMs = ms; }
  /** The bridge's demand: a viewer appearing gets the next frame at once. */
  void setWatching(bool w);
  void setMotion(bool m);
  void setPaused(bool p) { paused_ = p; }
  void setMotionDetection(bool on) { detection_ = on; }

  bool watching() const { return watching_; }
  bool fullRate() const { return watching_ || motion_; }
  bool paused() const { return paused_; }
  const RateConfig& config() const { return cfg_; }

  /** Interval between frames sent, ms. */
  uint32_t sendIntervalMs() const;
  /** Interval between captures, ms (0 = no capturing needed at all). */
  uint32_t captureIntervalMs() const;
  /** True when a capture is due at nowMs. */
  bool captureDue(uint64_t nowMs) const;
  /** Record a capture at nowMs; returns whether this frame should be sent. */
  bool onCapture(uint64_t nowMs);
  /** ms until the next capture is due (for sleeping), capped at maxMs. */
  uint32_t msUntilCapture(uint64_t nowMs, uint32_t maxMs) const;
  /** Forget the send phase: the next captured frame is sent (e.g. after (re)connecting). */
  void sendNext() { sendNext_ = true; }

 private:
  RateConfig cfg_;
  bool watching_ = false;
  bool motion_ = false;
  bool paused_ = false;
  bool detection_ = true;
  bool sendNext_ = true;
  bool captured_ = false;
  uint64_t nextCapture_ = 0;
  uint64_t lastSent_ = 0;
};

}  // namespace c2m
