// Device-side motion detection on a small grayscale frame (the JPEG decoded at 1/8 scale).
//
// Changed-pixel ratio against a running-average background, with hysteresis on both level and time:
// motion starts when more than startPermille of the pixels changed in startFrames consecutive frames,
// and ends only after the ratio stayed below the lower stopPermille for holdMs. A change of almost the
// whole frame (lamp switched on, auto exposure, a new frame size) is lighting, not motion: the
// background is re-learned instead. Integer arithmetic only: the ESP32 has no fast double math.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol.h"

namespace c2m {

struct MotionConfig {
  /** |pixel - background| above this (0..255) counts as changed. */
  uint8_t pixelThreshold = 24;
  /** Changed pixels (per mille of the frame) that start motion. */
  uint16_t startPermille = 15;
  /** Below this, motion may end (hysteresis: lower than startPermille). */
  uint16_t stopPermille = 5;
  /** Above this the whole scene changed (lighting): re-learn, no event. */
  uint16_t lightingPermille = 700;
  /** Consecutive frames above startPermille needed to start. */
  uint8_t startFrames = 2;
  /** Time the ratio must stay below stopPermille to end. */
  uint32_t holdMs = 3000;
  /** The background moves 1/2^shift of the way to the frame each frame: fast where nothing changed... */
  uint8_t learnShift = 3;
  /** ...and slowly where something did, so something that stops moving becomes background eventually. */
  uint8_t learnShiftMotion = 6;
  /** Region = bounding box of blockSize x blockSize blocks with >= 1/4 changed pixels (ignores lone noisy pixels). */
  uint8_t blockSize = 4;
};

struct MotionEvent {
  enum Kind : uint8_t { None, Start, End } kind = None;
  /** Changed area (per mille of the frame), set for Start. */
  Region region;
};

class MotionDetector {
 public:
  explicit MotionDetector(MotionConfig cfg = {}) : cfg_(cfg) {}

  /** Analyse one grayscale frame (w*h bytes, row-major). */
  MotionEvent feed(const uint8_t* gray, int w, int h, uint64_t nowMs);
  /** Forget the background (after settings that change the picture); an active motion ends on its own. */
  void relearn() { bg_.clear(); }
  /** Back to the initial state (no motion, no background). */
  void reset();

  bool active() const { return active_; }
  /** Changed pixels in the last frame, per mille. */
  uint16_t ratio() const { return ratio_; }
  const Region& region() const { return region_; }
  MotionConfig& config() { return cfg_; }

 private:
  Region changedRegion(int w, int h) const;

  MotionConfig cfg_;
  std::vector<uint16_t> bg_;      // background, 8.4 fixed point
  std::vector<uint8_t> changed_;  // per-pixel change mask of the last frame
  int w_ = 0, h_ = 0;
  bool active_ = false;
  uint8_t above_ = 0;
  uint64_t quietSince_ = 0;
  bool quiet_ = false;
  uint16_t ratio_ = 0;
  Region region_;
};

}  // namespace c2m
