// Carts and holds through the real engine: 4 shards, so most products live on another
// shard than their buyer.
#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

class Cart : public ::testing::Test, public testing::engine_fixture {};

TEST_F(Cart, AddingReservesTheUnitsAndShowsTheLine) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  auto r = add("alice", "sku-1", 2);
  ASSERT_TRUE(r.ok());
  const cart_view& c = r->value;
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].product_id, "sku-1");
  EXPECT_EQ(c.items[0].name, "Product sku-1");
  EXPECT_EQ(c.items[0].quantity, 2);
  EXPECT_EQ(c.items[0].line_total, 2000);
  EXPECT_TRUE(c.items[0].held);
  EXPECT_EQ(c.items[0].held_until_ms, clock_.now_ms() + 600'000);
  EXPECT_EQ(c.subtotal, 2000);
  EXPECT_EQ(c.item_count, 2);
  EXPECT_EQ(available("sku-1"), 8);
  EXPECT_EQ(admin_product("sku-1")->reserved, 2);
}

TEST_F(Cart, AddingToALineAddsToItsQuantity) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  auto r = add("alice", "sku-1", 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value.items[0].quantity, 5);
  EXPECT_EQ(available("sku-1"), 5);
}

TEST_F(Cart, AddingMoreThanAvailableIsOutOfStockWithWhatIsLeft) {
  ASSERT_TRUE(create("sku-1", 3).ok());
  auto r = add("alice", "sku-1", 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::out_of_stock);
  EXPECT_EQ(r.err().details.available, 3);
  EXPECT_EQ(available("sku-1"), 3);
  EXPECT_TRUE(cart_of("alice")->items.empty());
}

TEST_F(Cart, UnknownAndInactiveProductsAreNotFound) {
  ASSERT_TRUE(create("sku-1", 3).ok());
  ASSERT_TRUE(deactivate("sku-1").ok());
  EXPECT_EQ(add("alice", "sku-1", 1).code(), error_code::not_found);
  EXPECT_EQ(add("alice", "nope", 1).code(), error_code::not_found);
  EXPECT_EQ(add("alice", "bad id!", 1).code(), error_code::not_found);
}

TEST_F(Cart, QuantitiesOutside1To10000AreInvalid) {
  ASSERT_TRUE(create("sku-1", 3).ok());
  for (int64_t q : {0LL, -1LL, 10'001LL}) {
    auto r = add("alice", "sku-1", q);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), error_code::invalid_request);
  }
  EXPECT_EQ(set("alice", "sku-1", -1).code(), error_code::invalid_request);
}

TEST_F(Cart, TheSaleWindowIsEnforced) {
  product_create early;
  early.id = "early";
  early.name = "Early";
  early.on_hand = 5;
  early.sale_starts_at_ms = clock_.now_ms() + 60'000;
  ASSERT_TRUE(create(early).ok());
  auto r = add("alice", "early", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::sale_not_started);
  EXPECT_EQ(r.err().details.sale_starts_at_ms, clock_.now_ms() + 60'000);
  clock_.advance_ms(60'000);
  EXPECT_TRUE(add("alice", "early", 1).ok());

  product_create late = early;
  late.id = "late";
  late.sale_starts_at_ms.reset();
  late.sale_ends_at_ms = clock_.now_ms();
  ASSERT_TRUE(create(late).ok());
  EXPECT_EQ(add("alice", "late", 1).code(), error_code::sale_ended);
}

TEST_F(Cart, ThePerUserLimitCountsTheCart) {
  ASSERT_TRUE(create("sku-1", 10, /*max_per_user=*/2).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  auto r = add("alice", "sku-1", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::limit_exceeded);
  EXPECT_EQ(r.err().details.max_per_user, 2);
  EXPECT_EQ(r.err().details.already, 2);
  EXPECT_TRUE(add("bob", "sku-1", 2).ok());
}

TEST_F(Cart, ThePerUserLimitCountsOrdersThatAreNotCanceled) {
  ASSERT_TRUE(create("sku-1", 10, /*max_per_user=*/2).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  auto placed = checkout("alice");
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(add("alice", "sku-1", 1).code(), error_code::limit_exceeded);
  ASSERT_TRUE(cancel(placed->value.id, "alice").ok());
  EXPECT_TRUE(add("alice", "sku-1", 2).ok());
}

TEST_F(Cart, SettingALineChangesItsQuantityAndItsHold) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  auto up = set("alice", "sku-1", 7);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->items[0].quantity, 7);
  EXPECT_EQ(available("sku-1"), 3);
  auto down = set("alice", "sku-1", 1);
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->items[0].quantity, 1);
  EXPECT_EQ(available("sku-1"), 9);
}

TEST_F(Cart, SettingAnIncreasePastStockIsRefusedAndKeepsTheLine) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  auto r = set("alice", "sku-1", 6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::out_of_stock);
  EXPECT_EQ(r.err().details.available, 3);
  EXPECT_EQ(cart_of("alice")->items[0].quantity, 2);
  EXPECT_EQ(available("sku-1"), 3);
}

TEST_F(Cart, SettingZeroRemovesTheLine) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  auto r = set("alice", "sku-1", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->items.empty());
  EXPECT_EQ(available("sku-1"), 5);
}

TEST_F(Cart, ChangingOrRemovingALineThatIsNotThereIsNotFound) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  EXPECT_EQ(set("alice", "sku-1", 1).code(), error_code::not_found);
  EXPECT_EQ(remove("alice", "sku-1").code(), error_code::not_found);
}

TEST_F(Cart, RemovingALineReleasesItsHold) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(create("sku-2", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  ASSERT_TRUE(add("alice", "sku-2", 3).ok());
  auto r = remove("alice", "sku-1");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].product_id, "sku-2");
  EXPECT_EQ(available("sku-1"), 5);
  EXPECT_EQ(available("sku-2"), 2);
}

TEST_F(Cart, ClearingEmptiesTheCartAndReleasesEveryHold) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(create("sku-2", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  ASSERT_TRUE(add("alice", "sku-2", 3).ok());
  auto r = clear("alice");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->items.empty());
  EXPECT_EQ(r->subtotal, 0);
  EXPECT_EQ(available("sku-1"), 5);
  EXPECT_EQ(available("sku-2"), 5);
}

TEST_F(Cart, ALapsedHoldReturnsItsUnitsAndKeepsTheLineUnheld) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  advance_s(599);
  EXPECT_EQ(available("sku-1"), 3);
  advance_s(1);
  EXPECT_EQ(available("sku-1"), 5);
  auto c = cart_of("alice");
  ASSERT_EQ(c->items.size(), 1u);
  EXPECT_FALSE(c->items[0].held);
  EXPECT_EQ(c->items[0].held_until_ms, std::nullopt);
  EXPECT_EQ(c->items[0].quantity, 2);
}

TEST_F(Cart, EveryChangeRenewsTheHoldOfAllHeldLines) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(create("sku-2", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1).ok());
  advance_s(500);
  auto c = add("alice", "sku-2", 1);
  ASSERT_TRUE(c.ok());
  for (const auto& line : c->value.items)
    EXPECT_EQ(line.held_until_ms, clock_.now_ms() + 600'000);
  advance_s(500);  // 1000 s after the first add, 500 after the renewal
  EXPECT_EQ(available("sku-1"), 4);
  advance_s(100);
  EXPECT_EQ(available("sku-1"), 5);
  EXPECT_EQ(available("sku-2"), 5);
}

TEST_F(Cart, AddingToALapsedLineHoldsTheWholeLineAgain) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  advance_s(600);
  auto r = add("alice", "sku-1", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->value.items[0].held);
  EXPECT_EQ(r->value.items[0].quantity, 3);
  EXPECT_EQ(available("sku-1"), 2);
}

TEST_F(Cart, UsersHaveSeparateCarts) {
  ASSERT_TRUE(create("sku-1", 5).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  EXPECT_TRUE(cart_of("bob")->items.empty());
}

}  // namespace
}  // namespace stampede

namespace stampede {
namespace {

class RateLimit : public ::testing::Test, public testing::engine_fixture {};

TEST_F(RateLimit, AUserPastTheBurstIsRateLimitedUntilTheBucketRefills) {
  ASSERT_TRUE(create("sku-1", 1000).ok());
  for (int i = 0; i < limits::user_request_burst; ++i) ASSERT_TRUE(cart_of("alice").ok()) << i;
  auto r = add("alice", "sku-1", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::rate_limited);
  EXPECT_TRUE(cart_of("bob").ok());  // another user has a bucket of their own
  clock_.advance_ms(1000 / limits::user_requests_per_s_default);
  EXPECT_TRUE(add("alice", "sku-1", 1).ok());
  EXPECT_EQ(add("alice", "sku-1", 1).code(), error_code::rate_limited);
}

TEST_F(RateLimit, AdminsActingOnAUsersOrderDoNotSpendTheirRequests) {
  ASSERT_TRUE(create("sku-1", 1000).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1).ok());
  auto o = checkout("alice");  // 2 requests (address, order) + 1 add = 3 spent
  ASSERT_TRUE(o.ok());
  for (int i = 0; i < limits::user_request_burst - 3; ++i) ASSERT_TRUE(cart_of("alice").ok());
  EXPECT_EQ(cart_of("alice").code(), error_code::rate_limited);
  EXPECT_TRUE(get_order(o->value.id, "", /*admin=*/true).ok());
  EXPECT_TRUE(cancel(o->value.id, "", /*admin=*/true).ok());
}

}  // namespace
}  // namespace stampede
