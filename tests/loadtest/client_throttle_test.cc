// The overload tool's model of a client that throttles itself (loadtest/client_throttle.h).
#include "loadtest/client_throttle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace stampede::load {
namespace {

using clock = client_throttle::clock;
using std::chrono::milliseconds;

TEST(ClientThrottle, NothingIsHeldBackWhileTheServerAcceptsEverything) {
  client_throttle t(1.1, std::chrono::seconds(1));
  auto now = clock::now();
  for (int i = 0; i < 10'000; ++i) {
    now += std::chrono::microseconds(100);
    ASSERT_TRUE(t.allow(now, 0.0)) << "request " << i;  // 0.0: the draw most likely to refuse
    t.accepted(now);
  }
  EXPECT_EQ(t.refusal_probability(now), 0.0);
}

TEST(ClientThrottle, AServerThatAcceptsNothingIsAlmostNeverTriedAgain) {
  client_throttle t(2, std::chrono::seconds(1));
  auto now = clock::now();
  for (int i = 0; i < 1'000; ++i) t.allow(now, 0.5);
  EXPECT_NEAR(t.refusal_probability(now), 1000.0 / 1001.0, 1e-9);
}

// A server that can accept `capacity` requests a millisecond (with a line of 3 ms of work
// that absorbs bursts), offered ten times that: the client sends about K times what is
// accepted, so the server sees about K times its capacity and still serves nearly all of it.
TEST(ClientThrottle, AtTenTimesCapacityTheServerSeesAboutKTimesWhatItAccepts) {
  const double k = 1.1;
  const int capacity_per_ms = 10, offered_per_ms = 100;
  client_throttle t(k, std::chrono::seconds(1));
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> uniform(0, 1);
  auto now = clock::now();
  long sent = 0, accepted = 0;
  int room = 0;
  for (int ms = 0; ms < 5'000; ++ms) {
    now += milliseconds(1);
    room = std::min(room + capacity_per_ms, 3 * capacity_per_ms);
    for (int i = 0; i < offered_per_ms; ++i) {
      if (!t.allow(now, uniform(random))) continue;
      if (ms >= 2'000) ++sent;  // after the first window: the steady state
      if (room > 0) {
        --room;
        t.accepted(now);
        if (ms >= 2'000) ++accepted;
      }
    }
  }
  EXPECT_GT(static_cast<double>(accepted) / 3'000, 0.9 * capacity_per_ms);
  double ratio = static_cast<double>(sent) / static_cast<double>(accepted);
  EXPECT_GT(ratio, 1.0);
  EXPECT_LT(ratio, k + 0.05);
}

TEST(ClientThrottle, CountsOlderThanTheWindowAreForgotten) {
  client_throttle t(2, milliseconds(1000));
  auto now = clock::now();
  for (int i = 0; i < 1'000; ++i) t.allow(now, 0.5);  // all refused by the server
  EXPECT_GT(t.refusal_probability(now), 0.99);
  EXPECT_GT(t.refusal_probability(now + milliseconds(500)), 0.99);  // half a window: still there
  EXPECT_EQ(t.refusal_probability(now + milliseconds(1100)), 0.0);  // a window on: gone
}

TEST(ClientThrottle, TheWindowSlidesBucketByBucket) {
  client_throttle t(1, milliseconds(1000));
  auto now = clock::now();
  for (int i = 0; i < 100; ++i) t.allow(now, 0.5);  // 100 attempts, none accepted
  now += milliseconds(600);
  for (int i = 0; i < 100; ++i) {
    t.allow(now, 0.5);
    t.accepted(now);
  }
  // Both halves counted: (200 - 100) / 201.
  EXPECT_NEAR(t.refusal_probability(now), 100.0 / 201.0, 1e-9);
  // 500 ms later the first hundred have left the window: (100 - 100) / 101.
  EXPECT_EQ(t.refusal_probability(now + milliseconds(500)), 0.0);
}

}  // namespace
}  // namespace stampede::load
