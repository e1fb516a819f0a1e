// "When an answer says a change happened, a read that starts after it must see it" (issue
// 9), for the changes that give stock back: a cancel, a cart line removed, a cart cleared,
// and an unpaid order canceled by the timer. The product's shard is held still, so an
// answer (or a read of the user's state) that came before the units were back would be
// caught in the act, deterministically.
#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

class StockReturn : public ::testing::Test, public testing::engine_fixture {
 protected:
  StockReturn() : engine_fixture(2) {
    EXPECT_TRUE(create(sku, 5).ok());
  }
  // The user lives on shard 0, the product on shard 1.
  const std::string user = user_on(0);
  const std::string sku = product_on(1);
};

TEST_F(StockReturn, ACancelIsAnsweredOnlyOnceItsUnitsAreBackOnTheProductsShard) {
  ASSERT_TRUE(add(user, sku, 2).ok());
  auto placed = checkout(user);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(available(sku), 3);
  auto held = hold_shard(1);
  auto canceled = call_later<order>(
      [&](auto done) { engine_.cancel_order(placed->value.id, user, false, std::move(done)); });
  passes_done(0);
  EXPECT_FALSE(ready(canceled)) << "answered while the product's shard still had the units committed";
  held->release();
  ASSERT_TRUE(canceled.get().ok());
  // No settle(): a read started after the answer sees the units back.
  EXPECT_EQ(admin_product(sku)->available, 5);
}

TEST_F(StockReturn, ARemovedLineIsAnsweredOnlyOnceItsUnitsAreBack) {
  ASSERT_TRUE(add(user, sku, 2).ok());
  auto held = hold_shard(1);
  auto removed =
      call_later<cart_view>([&](auto done) { engine_.remove_item(user, sku, std::move(done)); });
  passes_done(0);
  EXPECT_FALSE(ready(removed)) << "answered while the product's shard still held the units";
  held->release();
  ASSERT_TRUE(removed.get().ok());
  EXPECT_EQ(admin_product(sku)->available, 5);
}

TEST_F(StockReturn, AClearedCartIsAnsweredOnlyOnceItsUnitsAreBack) {
  ASSERT_TRUE(add(user, sku, 3).ok());
  auto held = hold_shard(1);
  auto cleared = call_later<cart_view>([&](auto done) { engine_.clear_cart(user, std::move(done)); });
  passes_done(0);
  EXPECT_FALSE(ready(cleared)) << "answered while the product's shard still held the units";
  held->release();
  ASSERT_TRUE(cleared.get().ok());
  EXPECT_EQ(admin_product(sku)->available, 5);
}

TEST_F(StockReturn, AnOrderTheTimerCanceledReadsAsCanceledOnlyOnceItsUnitsAreBack) {
  ASSERT_TRUE(add(user, sku, 2).ok());
  auto placed = checkout(user);
  ASSERT_TRUE(placed.ok());
  auto held = hold_shard(1);
  clock_.advance_ms(901'000);  // past --payment-ttl
  engine_.shard_at(0).post(shard_task{[](shard& s) { s.tick(); }});
  passes_done(0);
  auto read = call_later<order>(
      [&](auto done) { engine_.get_order(placed->value.id, user, false, std::move(done)); });
  passes_done(0);
  EXPECT_FALSE(ready(read)) << "the order read as canceled while its units were still committed";
  held->release();
  auto o = read.get();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, order_status::canceled);
  EXPECT_EQ(admin_product(sku)->available, 5);
}

}  // namespace
}  // namespace stampede
