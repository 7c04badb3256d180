#include "rate.h"

#include <algorithm>

namespace c2m {

static uint32_t periodMs(double fps) { return fps > 0 ? static_cast<uint32_t>(1000.0 / fps + 0.5) : 1000; }

void RateControl::setWatching(bool w) {
  if (w && !watching_) {
    sendNext_ = true;
    nextCapture_ = 0;  // capture now: a new viewer should not wait out the idle interval
  }
  watching_ = w;
}

void RateControl::setMotion(bool m) {
  if (m && !motion_) {
    sendNext_ = true;
    nextCapture_ = 0;
  }
  motion_ = m;
}

uint32_t RateControl::sendIntervalMs() const { return fullRate() ? periodMs(cfg_.fps) : cfg_.idleIntervalMs; }

uint32_t RateControl::captureIntervalMs() const {
  uint32_t sampling = detection_ ? periodMs(std::min(cfg_.fps, cfg_.motionSampleFps)) : 0;
  if (paused_) return sampling;  // paused: frames only for the motion detector, if it is on
  uint32_t send = sendIntervalMs();
  return sampling ? std::min(send, sampling) : send;
}

bool RateControl::captureDue(uint64_t nowMs) const {
  return captureIntervalMs() != 0 && nowMs >= nextCapture_;
}

uint32_t RateControl::msUntilCapture(uint64_t nowMs, uint32_t maxMs) const {
  if (captureIntervalMs() == 0) return maxMs;
  if (nowMs >= nextCapture_) return 0;
  uint64_t d = nextCapture_ - nowMs;
  return d < maxMs ? static_cast<uint32_t>(d) : maxMs;
}

bool RateControl::onCapture(uint64_t nowMs) {
  const uint32_t interval = captureIntervalMs();
  // Keep a steady cadence (next = previous due time + interval) but never try to catch up a backlog.
  if (!captured_ || nextCapture_ == 0 || nowMs >= nextCapture_ + interval) nextCapture_ = nowMs + interval;
  else nextCapture_ += interval;
  captured_ = true;
  if (paused_) return false;
  const uint32_t send = sendIntervalMs();
  // Captures and sends run on different periods; half a capture interval of slack keeps the send
  // cadence from slipping by one capture every time.
  bool due = sendNext_ || nowMs + interval / 2 >= lastSent_ + send;
  if (due) {
    lastSent_ = nowMs;
    sendNext_ = false;
  }
  return due;
}

}  // namespace c2m
