#include "core/order.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

using s = order_status;
constexpr auto admin = transition_actor::admin;
constexpr auto owner = transition_actor::owner;
constexpr auto sys = transition_actor::system;

TEST(OrderStatus, AdminsMoveForwardAlongTheChainWithSkips) {
  EXPECT_TRUE(transition_allowed(s::paid, s::processing, admin));
  EXPECT_TRUE(transition_allowed(s::paid, s::shipped, admin));
  EXPECT_TRUE(transition_allowed(s::processing, s::delivered, admin));
  EXPECT_TRUE(transition_allowed(s::shipped, s::out_for_delivery, admin));
  EXPECT_TRUE(transition_allowed(s::out_for_delivery, s::delivered, admin));
}

TEST(OrderStatus, NothingMovesBackward) {
  EXPECT_FALSE(transition_allowed(s::shipped, s::processing, admin));
  EXPECT_FALSE(transition_allowed(s::delivered, s::shipped, admin));
  EXPECT_FALSE(transition_allowed(s::paid, s::pending, admin));
  EXPECT_FALSE(transition_allowed(s::paid, s::paid, admin));
}

TEST(OrderStatus, APendingOrderMovesOnlyByPaymentOrCancel) {
  EXPECT_FALSE(transition_allowed(s::pending, s::processing, admin));
  EXPECT_FALSE(transition_allowed(s::pending, s::paid, admin));
  EXPECT_TRUE(transition_allowed(s::pending, s::paid, sys));
  EXPECT_TRUE(transition_allowed(s::pending, s::canceled, admin));
  EXPECT_TRUE(transition_allowed(s::pending, s::canceled, owner));
}

TEST(OrderStatus, CancelIsAllowedFromPendingPaidAndProcessingOnly) {
  for (auto from : {s::pending, s::paid, s::processing})
    EXPECT_TRUE(transition_allowed(from, s::canceled, owner)) << to_string(from);
  for (auto from : {s::shipped, s::out_for_delivery, s::delivered, s::canceled})
    EXPECT_FALSE(transition_allowed(from, s::canceled, admin)) << to_string(from);
}

TEST(OrderStatus, OwnersCanOnlyCancel) {
  EXPECT_FALSE(transition_allowed(s::paid, s::processing, owner));
  EXPECT_FALSE(transition_allowed(s::pending, s::paid, owner));
}

TEST(OrderStatus, ACanceledOrderNeverMovesAgain) {
  for (auto to : {s::pending, s::paid, s::processing, s::shipped, s::delivered})
    EXPECT_FALSE(transition_allowed(s::canceled, to, admin));
}

TEST(OrderStatus, NamesRoundTripAndUnknownNamesAreRejected) {
  for (auto st : {s::pending, s::paid, s::processing, s::shipped, s::out_for_delivery,
                  s::delivered, s::canceled})
    EXPECT_EQ(parse_order_status(to_string(st)), st);
  EXPECT_EQ(parse_order_status("lost"), std::nullopt);
  EXPECT_EQ(parse_order_status(""), std::nullopt);
}

}  // namespace
}  // namespace stampede
