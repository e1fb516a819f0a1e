// A webhook receiver's share of deliveries and its circuit breaker (server/webhook_client.h).
#include "server/webhook_client.h"

#include <gtest/gtest.h>

namespace stampede::http {
namespace {

void fail(receiver_breaker& r, int64_t now_ms, int64_t open_ms = 1000) {
  r.started();
  r.ended(false, now_ms, open_ms);
}

TEST(ReceiverBreaker, AReceiverGetsItsShareOfDeliveriesAndNoMore) {
  receiver_breaker r;
  for (size_t i = 0; i < webhook_in_flight_per_receiver_max; ++i) {
    EXPECT_TRUE(r.may_send(0));
    r.started();
  }
  EXPECT_FALSE(r.may_send(0));
  r.ended(true, 0, 1000);
  EXPECT_TRUE(r.may_send(0));
}

TEST(ReceiverBreaker, FailuresInARowOpenItAndNothingIsSentWhileOpen) {
  receiver_breaker r;
  for (int i = 0; i + 1 < webhook_breaker_failures; ++i) fail(r, 0);
  EXPECT_TRUE(r.may_send(0));
  r.started();
  EXPECT_TRUE(r.ended(false, 0, 1000));  // the one that opens it
  EXPECT_FALSE(r.may_send(999));
  EXPECT_TRUE(r.may_send(1000));  // one probe
}

TEST(ReceiverBreaker, ASuccessBetweenFailuresKeepsItClosed) {
  receiver_breaker r;
  for (int i = 0; i + 1 < webhook_breaker_failures; ++i) fail(r, 0);
  r.started();
  r.ended(true, 0, 1000);
  for (int i = 0; i + 1 < webhook_breaker_failures; ++i) fail(r, 0);
  EXPECT_TRUE(r.may_send(0));
}

TEST(ReceiverBreaker, OneProbeAtATimeAFailedOneReopensItAndASuccessCloses) {
  receiver_breaker r;
  for (int i = 0; i < webhook_breaker_failures; ++i) fail(r, 0);
  ASSERT_FALSE(r.may_send(500));
  r.started();  // the probe, at 1000
  EXPECT_FALSE(r.may_send(1000));
  EXPECT_TRUE(r.ended(false, 1000, 2000));  // failed: open again, for longer
  EXPECT_FALSE(r.may_send(2999));
  EXPECT_TRUE(r.may_send(3000));
  r.started();
  EXPECT_FALSE(r.ended(true, 3000, 4000));
  EXPECT_EQ(r.trips, 0);
  for (size_t i = 0; i < webhook_in_flight_per_receiver_max; ++i) r.started();
  EXPECT_FALSE(r.may_send(3000));  // closed: back to its share
}

TEST(ReceiverBreaker, ADeliveryStartedBeforeItOpenedAndEndingWhileOpenDoesNotReopenIt) {
  receiver_breaker r;
  r.started();  // still in flight when the others fail
  for (int i = 0; i < webhook_breaker_failures; ++i) fail(r, 0);
  EXPECT_FALSE(r.ended(false, 500, 1000));
  EXPECT_EQ(r.open_until_ms, 1000);
}

}  // namespace
}  // namespace stampede::http
