#include "motion.h"

#include <algorithm>

namespace c2m {

void MotionDetector::reset() {
  bg_.clear();
  changed_.clear();
  w_ = h_ = 0;
  active_ = false;
  above_ = 0;
  quiet_ = false;
  ratio_ = 0;
  region_ = Region{};
}

MotionEvent MotionDetector::feed(const uint8_t* gray, int w, int h, uint64_t nowMs) {
  MotionEvent ev;
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
  if (n == 0) return ev;
  if (w != w_ || h != h_ || bg_.size() != n) {
    // First frame, new frame size or relearn(): this frame becomes the background.
    w_ = w;
    h_ = h;
    bg_.resize(n);
    changed_.assign(n, 0);
    for (size_t i = 0; i < n; ++i) bg_[i] = static_cast<uint16_t>(gray[i] << 4);
    ratio_ = 0;
  } else {
    const int thr = cfg_.pixelThreshold << 4;
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      int diff = (static_cast<int>(gray[i]) << 4) - bg_[i];
      uint8_t c = (diff > thr || diff < -thr) ? 1 : 0;
      changed_[i] = c;
      count += c;
    }
    ratio_ = static_cast<uint16_t>(count * 1000 / n);
    if (ratio_ > cfg_.lightingPermille) {
      // The whole picture changed: lighting or exposure, not something moving. Adopt it.
      for (size_t i = 0; i < n; ++i) bg_[i] = static_cast<uint16_t>(gray[i] << 4);
      ratio_ = 0;
    } else {
      // Selective update: unchanged pixels follow the scene quickly (noise, slow light changes);
      // changed ones slowly, so a passing object is not absorbed into the background while it is
      // detected, yet something that stays (a parked car) becomes background in the end.
      for (size_t i = 0; i < n; ++i) {
        const int shift = changed_[i] ? cfg_.learnShiftMotion : cfg_.learnShift;
        int target = static_cast<int>(gray[i]) << 4;
        int b = bg_[i];
        int step = (target - b) >> shift;
        if (step == 0 && target != b) step = target > b ? 1 : -1;  // converge fully despite the shift
        bg_[i] = static_cast<uint16_t>(b + step);
      }
    }
  }

  if (!active_) {
    above_ = ratio_ >= cfg_.startPermille ? static_cast<uint8_t>(std::min<int>(above_ + 1, 255)) : 0;
    if (above_ >= cfg_.startFrames) {
      active_ = true;
      quiet_ = false;
      region_ = changedRegion(w, h);
      ev.kind = MotionEvent::Start;
      ev.region = region_;
    }
  } else if (ratio_ < cfg_.stopPermille) {
    if (!quiet_) {
      quiet_ = true;
      quietSince_ = nowMs;
    }
    if (nowMs - quietSince_ >= cfg_.holdMs) {
      active_ = false;
      above_ = 0;
      quiet_ = false;
      ev.kind = MotionEvent::End;
    }
  } else {
    quiet_ = false;
  }
  return ev;
}

Region MotionDetector::changedRegion(int w, int h) const {
  const int bs = cfg_.blockSize > 0 ? cfg_.blockSize : 1;
  int x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (int by = 0; by < h; by += bs) {
    for (int bx = 0; bx < w; bx += bs) {
      int count = 0, total = 0;
      for (int y = by; y < std::min(by + bs, h); ++y)
        for (int x = bx; x < std::min(bx + bs, w); ++x, ++total) count += changed_[static_cast<size_t>(y) * w + x];
      if (count * 4 >= total && count > 0) {
        x0 = std::min(x0, bx);
        y0 = std::min(y0, by);
        x1 = std::max(x1, std::min(bx + bs, w));
        y1 = std::max(y1, std::min(by + bs, h));
      }
    }
  }
  if (x1 < 0) {  // diffuse change, no dense block: box of every changed pixel
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (changed_[static_cast<size_t>(y) * w + x]) {
          x0 = std::min(x0, x);
          y0 = std::min(y0, y);
          x1 = std::max(x1, x + 1);
          y1 = std::max(y1, y + 1);
        }
  }
  Region r;
  if (x1 < 0) return r;
  r.x = x0 * 1000 / w;
  r.y = y0 * 1000 / h;
  r.w = std::min(1000 - r.x, (x1 - x0) * 1000 / w);
  r.h = std::min(1000 - r.y, (y1 - y0) * 1000 / h);
  return r;
}

}  // namespace c2m
