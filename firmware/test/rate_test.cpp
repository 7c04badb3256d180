#include <gtest/gtest.h>

#include "rate.h"

using namespace c2m;

namespace {

/** Run the control for durationMs in 5 ms steps; count captures and sends. */
struct Sim {
  RateControl& rc;
  uint64_t t = 0;
  int captures = 0, sends = 0;
  void run(uint64_t durationMs) {
    for (uint64_t end = t + durationMs; t < end; t += 5)
      if (rc.captureDue(t)) {
        ++captures;
        if (rc.onCapture(t)) ++sends;
      }
  }
};

}  // namespace

TEST(Rate, IdleSendsOneFrameEveryFiveSecondsButKeepsSamplingForMotion) {
  RateControl rc;  // fps 10, idle 5 s, motion sampling 4 fps
  Sim s{rc};
  s.run(20000);
  EXPECT_NEAR(s.sends, 4, 1);      // the first frame at once, then one per 5 s
  EXPECT_NEAR(s.captures, 80, 2);  // 4 per second for the detector
}

TEST(Rate, WatchingSendsAtFullRateAndANewViewerGetsAFrameAtOnce) {
  RateControl rc;
  Sim s{rc};
  s.run(1000);
  int before = s.sends;
  rc.setWatching(true);
  EXPECT_TRUE(rc.captureDue(s.t));
  s.run(10000);
  EXPECT_NEAR(s.sends - before, 100, 2);
  rc.setWatching(false);
  s.sends = 0;
  s.run(10000);
  EXPECT_NEAR(s.sends, 2, 1);
}

TEST(Rate, MotionRaisesTheRateLikeAViewer) {
  RateControl rc;
  rc.setFps(5);
  Sim s{rc};
  s.run(1000);
  rc.setMotion(true);
  s.sends = 0;
  s.run(4000);
  EXPECT_NEAR(s.sends, 20, 1);
  rc.setMotion(false);
  s.sends = 0;
  s.run(10000);
  EXPECT_LE(s.sends, 3);
}

TEST(Rate, PauseSendsNothingButMotionDetectionStillSamples) {
  RateControl rc;
  rc.setWatching(true);
  rc.setPaused(true);
  Sim s{rc};
  s.run(5000);
  EXPECT_EQ(s.sends, 0);
  EXPECT_NEAR(s.captures, 20, 1);
  rc.setMotionDetection(false);
  s.captures = 0;
  s.run(5000);
  EXPECT_EQ(s.captures, 0);
  EXPECT_EQ(rc.msUntilCapture(s.t, 20), 20u);
}

TEST(Rate, WithoutMotionDetectionIdleCapturesOnlyWhatItSends) {
  RateControl rc;
  rc.setMotionDetection(false);
  Sim s{rc};
  s.run(20000);
  EXPECT_EQ(s.captures, s.sends);
  EXPECT_NEAR(s.sends, 4, 1);
}

TEST(Rate, FractionalFpsAndNoCatchUpAfterAStall) {
  RateControl rc;
  rc.setFps(2.5);
  rc.setWatching(true);
  Sim s{rc};
  s.run(4000);
  EXPECT_NEAR(s.sends, 10, 1);
  // The loop stalls for 3 s (a slow WiFi write): afterwards no burst of back-to-back captures.
  s.t += 3000;
  int c0 = s.captures;
  s.run(400);
  EXPECT_EQ(s.captures - c0, 1);
}
