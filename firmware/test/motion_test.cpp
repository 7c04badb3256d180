#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "motion.h"

using namespace c2m;

namespace {

constexpr int W = 80, H = 60;

/** A textured background with sensor-like noise, and optionally a bright square at (ox, oy). */
std::vector<uint8_t> scene(unsigned seed, int ox = -1, int oy = -1, int size = 12, int brightnessShift = 0) {
  std::vector<uint8_t> g(W * H);
  srand(seed);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      int v = 60 + x + (y / 4) * 3 + (rand() % 7) - 3 + brightnessShift;
      if (ox >= 0 && x >= ox && x < ox + size && y >= oy && y < oy + size) v = 230;
      g[y * W + x] = static_cast<uint8_t>(std::max(0, std::min(255, v)));
    }
  return g;
}

}  // namespace

TEST(Motion, NoiseAloneIsNotMotion) {
  MotionDetector d;
  for (unsigned i = 0; i < 50; ++i) {
    auto f = scene(i);
    EXPECT_EQ(d.feed(f.data(), W, H, i * 250).kind, MotionEvent::None);
  }
  EXPECT_FALSE(d.active());
}

TEST(Motion, MovingObjectStartsAfterTwoFramesAndEndsAfterTheHoldTime) {
  MotionDetector d;  // startFrames 2, holdMs 3000
  uint64_t t = 0;
  for (unsigned i = 0; i < 10; ++i, t += 250) d.feed(scene(i).data(), W, H, t);
  auto f1 = scene(100, 20, 30);
  EXPECT_EQ(d.feed(f1.data(), W, H, t).kind, MotionEvent::None);  // one frame is not enough
  t += 250;
  auto f2 = scene(101, 24, 30);
  MotionEvent ev = d.feed(f2.data(), W, H, t);
  ASSERT_EQ(ev.kind, MotionEvent::Start);
  EXPECT_TRUE(d.active());
  // The region covers the square where it is now (x 24..36 of 80 px, y 30..42 of 60 px), in per mille.
  EXPECT_LE(ev.region.x, 24 * 1000 / W);
  EXPECT_GE(ev.region.x + ev.region.w, 36 * 1000 / W);
  EXPECT_LE(ev.region.y, 30 * 1000 / H);
  EXPECT_GE(ev.region.y + ev.region.h, 42 * 1000 / H);
  EXPECT_LE(ev.region.w, 400);  // and not the whole frame
  EXPECT_LE(ev.region.h, 400);

  // The object leaves; motion holds for 3 s of quiet, then ends once.
  t += 250;
  uint64_t quietFrom = t;
  int ends = 0;
  uint64_t endedAt = 0;
  for (unsigned i = 0; i < 40; ++i, t += 250) {
    MotionEvent e = d.feed(scene(200 + i).data(), W, H, t);
    if (e.kind == MotionEvent::End) ++ends, endedAt = t;
    EXPECT_NE(e.kind, MotionEvent::Start);
  }
  EXPECT_EQ(ends, 1);
  EXPECT_GE(endedAt - quietFrom, 3000u);
  EXPECT_LE(endedAt - quietFrom, 3500u);
  EXPECT_FALSE(d.active());
}

TEST(Motion, SmallWigglesBetweenStopAndStartThresholdsKeepMotionOn) {
  MotionConfig cfg;
  cfg.holdMs = 1000;
  MotionDetector d(cfg);
  uint64_t t = 0;
  for (unsigned i = 0; i < 10; ++i, t += 250) d.feed(scene(i).data(), W, H, t);
  d.feed(scene(50, 10, 10, 14).data(), W, H, t += 250);
  ASSERT_EQ(d.feed(scene(51, 14, 10, 14).data(), W, H, t += 250).kind, MotionEvent::Start);
  // A 3x3 patch changes: ~2 per mille, below start (15) but above stop (... set stop to 1).
  d.config().stopPermille = 1;
  for (unsigned i = 0; i < 12; ++i) {
    auto f = scene(300 + i, 60 + (i % 2) * 4, 40, 3);
    EXPECT_NE(d.feed(f.data(), W, H, t += 250).kind, MotionEvent::End) << i;
  }
  EXPECT_TRUE(d.active());
}

TEST(Motion, WholeFrameChangeIsLightingNotMotion) {
  MotionDetector d;
  uint64_t t = 0;
  for (unsigned i = 0; i < 10; ++i, t += 250) d.feed(scene(i).data(), W, H, t);
  for (unsigned i = 0; i < 10; ++i, t += 250) {
    auto f = scene(50 + i, -1, -1, 0, 80);  // the lamp went on
    EXPECT_EQ(d.feed(f.data(), W, H, t).kind, MotionEvent::None) << i;
  }
  EXPECT_FALSE(d.active());
}

TEST(Motion, NewFrameSizeRelearnsInsteadOfFiring) {
  MotionDetector d;
  for (unsigned i = 0; i < 5; ++i) d.feed(scene(i).data(), W, H, i * 250);
  std::vector<uint8_t> other(40 * 30, 200);
  EXPECT_EQ(d.feed(other.data(), 40, 30, 2000).kind, MotionEvent::None);
  EXPECT_EQ(d.feed(other.data(), 40, 30, 2250).kind, MotionEvent::None);
  EXPECT_EQ(d.ratio(), 0);
}

TEST(Motion, AnObjectThatStaysBecomesBackground) {
  MotionConfig cfg;
  cfg.holdMs = 1000;
  MotionDetector d(cfg);
  uint64_t t = 0;
  for (unsigned i = 0; i < 10; ++i, t += 250) d.feed(scene(i).data(), W, H, t);
  bool started = false, ended = false;
  for (unsigned i = 0; i < 400 && !ended; ++i, t += 250) {
    MotionEvent e = d.feed(scene(500 + i, 30, 20, 16).data(), W, H, t);  // parked car
    started |= e.kind == MotionEvent::Start;
    ended |= e.kind == MotionEvent::End;
  }
  EXPECT_TRUE(started);
  EXPECT_TRUE(ended);
}
