#include <gtest/gtest.h>

#include "backoff.h"

using namespace c2m;

// rnd = 2*span/2 (the middle of [0, 2*span]) gives the unjittered delay.
static uint32_t noJitter(uint32_t base) { return base * 25 / 100; }

TEST(Backoff, DoublesFromOneSecondToSixty) {
  Backoff b;
  uint32_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (uint32_t w : want) EXPECT_EQ(b.nextDelay(0, 1006, noJitter(w)), w);
  EXPECT_EQ(b.attempt(), 9u);
}

TEST(Backoff, JitterStaysWithinTwentyFivePercent) {
  Backoff b;
  uint32_t lo = UINT32_MAX, hi = 0;
  for (uint32_t r = 0; r < 5000; r += 7) {
    Backoff fresh;
    uint32_t d = fresh.nextDelay(0, 1006, r * 2654435761u);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_GE(lo, 750u);
  EXPECT_LE(hi, 1250u);
  EXPECT_LT(lo, 800u);  // and it actually spreads
  EXPECT_GT(hi, 1200u);
  for (int i = 0; i < 10; ++i) b.nextDelay(0, 1006, 0);
  EXPECT_EQ(b.nextDelay(0, 1006, 0), 45000u);       // -25 % of the maximum
  EXPECT_EQ(b.nextDelay(0, 1006, 30000), 75000u);   // +25 %
}

TEST(Backoff, ResetsOnlyAfterAStableConnection) {
  Backoff b;
  b.nextDelay(0, 1006, noJitter(1000));
  b.nextDelay(0, 1006, noJitter(2000));
  b.connected(10000);
  // Dropped after 5 s: not stable, keep climbing.
  EXPECT_EQ(b.nextDelay(15000, 1006, noJitter(4000)), 4000u);
  b.connected(20000);
  // Dropped after 60 s: stable, start again at 1 s.
  EXPECT_EQ(b.nextDelay(80000, 1001, noJitter(1000)), 1000u);
  EXPECT_EQ(b.attempt(), 1u);
}

TEST(Backoff, WrongTokenOrUnknownCameraGoesStraightToTheMaximum) {
  for (uint16_t code : {4001, 4003}) {
    Backoff b;
    EXPECT_EQ(b.nextDelay(0, code, noJitter(60000)), 60000u) << code;
    // A following plain failure (bridge restarting) does not drop back to 1 s.
    EXPECT_EQ(b.nextDelay(0, 1006, noJitter(60000)), 60000u) << code;
    b.connected(1000);
    EXPECT_EQ(b.nextDelay(70000, 1006, noJitter(1000)), 1000u) << code;
  }
  EXPECT_FALSE(isFatalCloseCode(4004));
  EXPECT_FALSE(isFatalCloseCode(1001));
}
