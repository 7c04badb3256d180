#include "backoff.h"

namespace c2m {

void Backoff::connected(uint64_t nowMs) {
  connectedAt_ = nowMs;
  up_ = true;
}

uint32_t Backoff::nextDelay(uint64_t nowMs, uint16_t closeCode, uint32_t rnd) {
  if (up_ && nowMs - connectedAt_ >= cfg_.stableMs) {
    attempt_ = 0;
    atMax_ = false;
  }
  up_ = false;
  // After a refusal, stay at the maximum: a later ordinary failure (bridge restarting) must not
  // restart the ramp at 1 s either; only a stable connection does.
  if (isFatalCloseCode(closeCode)) atMax_ = true;
  uint64_t base;
  if (atMax_) {
    base = cfg_.maxMs;
  } else {
    uint32_t shift = attempt_ < 31 ? attempt_ : 31;
    base = static_cast<uint64_t>(cfg_.initialMs) << shift;
    if (base > cfg_.maxMs) base = cfg_.maxMs;
  }
  ++attempt_;
  // rnd maps to [-jitter, +jitter] percent of the base delay.
  int64_t span = static_cast<int64_t>(base) * cfg_.jitterPercent / 100;
  int64_t offset = span == 0 ? 0 : static_cast<int64_t>(rnd % static_cast<uint64_t>(2 * span + 1)) - span;
  int64_t d = static_cast<int64_t>(base) + offset;
  return static_cast<uint32_t>(d < 0 ? 0 : d);
}

}  // namespace c2m
