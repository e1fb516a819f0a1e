#include "core/stock.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

stock with_on_hand(int64_t n) {
  stock s;
  EXPECT_TRUE(s.try_set_on_hand(n));
  return s;
}

TEST(Stock, ReserveTakesAvailableUnits) {
  stock s = with_on_hand(5);
  EXPECT_TRUE(s.try_reserve(3));
  EXPECT_EQ(s.reserved(), 3);
  EXPECT_EQ(s.available(), 2);
}

TEST(Stock, ReserveMoreThanAvailableIsRefusedAndChangesNothing) {
  stock s = with_on_hand(5);
  EXPECT_TRUE(s.try_reserve(4));
  EXPECT_FALSE(s.try_reserve(2));
  EXPECT_EQ(s.reserved(), 4);
  EXPECT_EQ(s.available(), 1);
}

TEST(Stock, CommitMovesHeldUnitsIntoOrders) {
  stock s = with_on_hand(5);
  ASSERT_TRUE(s.try_reserve(2));
  s.commit(2);
  EXPECT_EQ(s.reserved(), 0);
  EXPECT_EQ(s.committed(), 2);
  EXPECT_EQ(s.available(), 3);
}

TEST(Stock, ReleaseAndUncommitReturnUnits) {
  stock s = with_on_hand(5);
  ASSERT_TRUE(s.try_reserve(4));
  s.commit(2);
  s.release(2);
  s.uncommit(2);
  EXPECT_EQ(s.available(), 5);
  EXPECT_TRUE(s.invariant_holds());
}

TEST(Stock, OnHandCannotFallBelowReservedPlusCommitted) {
  stock s = with_on_hand(10);
  ASSERT_TRUE(s.try_reserve(4));
  s.commit(3);
  ASSERT_TRUE(s.try_reserve(2));  // reserved 3, committed 3
  EXPECT_FALSE(s.try_set_on_hand(5));
  EXPECT_EQ(s.on_hand(), 10);
  EXPECT_TRUE(s.try_set_on_hand(6));
  EXPECT_EQ(s.available(), 0);
}

TEST(Stock, NegativeOnHandIsRefused) {
  stock s;
  EXPECT_FALSE(s.try_set_on_hand(-1));
}

TEST(StockDeathTest, ReleasingMoreThanReservedStopsTheProcess) {
  stock s = with_on_hand(5);
  ASSERT_TRUE(s.try_reserve(1));
  EXPECT_DEATH(s.release(2), "check failed");
}

}  // namespace
}  // namespace stampede
