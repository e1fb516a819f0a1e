// Checkout, preview, addresses and idempotency through the real engine on 4 shards.
#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

class Checkout : public ::testing::Test, public testing::engine_fixture {};

// A log that refuses every order_placed, as the write-ahead log refuses an effect too large
// for one record.
class order_refusing_log final : public effect_log {
 public:
  uint64_t append(const effect& e) override {
    return std::holds_alternative<order_placed>(e) ? 0 : ++appended_;
  }
  void flush() override { durable_ = appended_; }
  uint64_t durable_lsn() const override { return durable_; }

 private:
  uint64_t appended_ = 0;
  uint64_t durable_ = 0;
};

class CheckoutOnARefusingLog : public ::testing::Test, public testing::engine_fixture {
 protected:
  CheckoutOnARefusingLog()
      : engine_fixture(4, 600, 900, [] { return std::make_unique<order_refusing_log>(); }) {}
};

TEST_F(CheckoutOnARefusingLog, AnOrderTheLogCannotHoldIsRefusedAndChangesNothing) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  advance_s(601);  // the hold lapses: checkout must reserve the units again
  EXPECT_EQ(available("sku-1"), 10);
  auto r = checkout("alice");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::invalid_request);
  EXPECT_NE(r.err().message.find("too large"), std::string::npos);
  // The units it took back go back, the cart is as it was, and there is no order.
  EXPECT_EQ(available("sku-1"), 10);
  ASSERT_EQ(cart_of("alice")->items.size(), 1u);
  EXPECT_FALSE(cart_of("alice")->items[0].held);
  EXPECT_TRUE(orders_of("alice")->items.empty());
  auto a = audit();
  EXPECT_EQ(a["sku-1"].reserved, 0);
  EXPECT_EQ(a["sku-1"].committed, 0);
}

TEST_F(Checkout, PlacingAnOrderCommitsTheHoldsAndEmptiesTheCart) {
  ASSERT_TRUE(create("sku-1", 10, 0, 1000).ok());
  ASSERT_TRUE(create("sku-2", 10, 0, 250).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  ASSERT_TRUE(add("alice", "sku-2", 4).ok());
  auto r = checkout("alice");
  ASSERT_TRUE(r.ok());
  const order& o = r->value;
  EXPECT_EQ(o.id.substr(0, 4), "ord_");
  EXPECT_EQ(o.user_id, "alice");
  EXPECT_EQ(o.status, order_status::pending);
  ASSERT_EQ(o.items.size(), 2u);
  EXPECT_EQ(o.subtotal, 3000);
  EXPECT_EQ(o.shipping, 500);
  EXPECT_EQ(o.total, 3500);
  EXPECT_EQ(o.method.id, "standard");
  EXPECT_EQ(o.billing_address, o.shipping_address);
  EXPECT_EQ(o.expires_at_ms, clock_.now_ms() + 900'000);
  ASSERT_EQ(o.history.size(), 1u);
  EXPECT_EQ(o.history[0].status, order_status::pending);
  EXPECT_TRUE(cart_of("alice")->items.empty());
  settle();
  auto p = admin_product("sku-1");
  EXPECT_EQ(p->reserved, 0);
  EXPECT_EQ(p->committed, 2);
  EXPECT_EQ(p->available, 8);
}

TEST_F(Checkout, AnEmptyCartIsCartEmpty) {
  EXPECT_EQ(checkout("alice").code(), error_code::cart_empty);
}

TEST_F(Checkout, AddressAndShippingMethodAreRequiredAndMustBeTheUsers) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1).ok());
  std::string bobs = home("bob");
  std::string alices = home("alice");
  EXPECT_EQ(place("alice", {"", "", "standard"}).code(), error_code::invalid_request);
  EXPECT_EQ(place("alice", {alices, "", ""}).code(), error_code::invalid_request);
  EXPECT_EQ(place("alice", {bobs, "", "standard"}).code(), error_code::invalid_request);
  EXPECT_EQ(place("alice", {alices, bobs, "standard"}).code(), error_code::invalid_request);
  auto r = place("alice", {alices, "", "drone"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::invalid_request);
  EXPECT_EQ(r.err().details.field, "shipping_method");
  EXPECT_EQ(cart_of("alice")->items.size(), 1u);
}

TEST_F(Checkout, LapsedLinesAreReservedAgain) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 3).ok());
  advance_s(601);
  EXPECT_EQ(available("sku-1"), 10);
  auto r = checkout("alice");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(available("sku-1"), 7);
  EXPECT_EQ(admin_product("sku-1")->committed, 3);
}

TEST_F(Checkout, IsAllOrNothingAndListsEveryShortLine) {
  ASSERT_TRUE(create("a", 10).ok());
  ASSERT_TRUE(create("b", 10).ok());
  ASSERT_TRUE(create("c", 10).ok());
  ASSERT_TRUE(add("alice", "a", 2).ok());
  ASSERT_TRUE(add("alice", "b", 5).ok());
  ASSERT_TRUE(add("alice", "c", 5).ok());
  advance_s(601);  // all three lapse
  ASSERT_TRUE(add("bob", "b", 7).ok());
  ASSERT_TRUE(add("bob", "c", 9).ok());
  auto r = checkout("alice");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::out_of_stock);
  std::vector<shortage> expected{{"b", 3}, {"c", 1}};
  EXPECT_EQ(r.err().details.items, expected);
  // What this attempt took of `a` went back.
  EXPECT_EQ(available("a"), 10);
  EXPECT_EQ(available("b"), 3);
  EXPECT_EQ(cart_of("alice")->items.size(), 3u);
}

TEST_F(Checkout, SaleWindowComesBeforeTheLimitWhichComesBeforeStock) {
  ASSERT_TRUE(create("limited", 10, /*max_per_user=*/1).ok());
  product_create ending;
  ending.id = "ending";
  ending.name = "Ending";
  ending.on_hand = 10;
  ending.sale_ends_at_ms = clock_.now_ms() + 10'000;
  ASSERT_TRUE(create(ending).ok());
  ASSERT_TRUE(create("short", 10).ok());
  ASSERT_TRUE(add("alice", "short", 5).ok());
  ASSERT_TRUE(add("alice", "limited", 1).ok());
  ASSERT_TRUE(add("alice", "ending", 1).ok());
  advance_s(601);
  ASSERT_TRUE(add("bob", "short", 9).ok());
  EXPECT_EQ(checkout("alice").code(), error_code::sale_ended);
  ASSERT_TRUE(remove("alice", "ending").ok());
  ASSERT_TRUE(add("carol", "limited", 1).ok());
  auto first = checkout("carol");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(add("carol", "short", 1).ok());
  // carol now has 1 `limited` in an order; put one more in her cart through a new limit.
  product_patch looser;
  looser.max_per_user = 5;
  ASSERT_TRUE(patch("limited", looser).ok());
  ASSERT_TRUE(add("carol", "limited", 1).ok());
  looser.max_per_user = 1;
  ASSERT_TRUE(patch("limited", looser).ok());
  EXPECT_EQ(checkout("carol").code(), error_code::limit_exceeded);
  EXPECT_EQ(checkout("alice").code(), error_code::out_of_stock);
}

TEST_F(Checkout, PreviewSummarisesWithoutChangingAnything) {
  ASSERT_TRUE(create("sku-1", 10, 0, 1000).ok());
  ASSERT_TRUE(add("alice", "sku-1", 2).ok());
  std::string addr = home("alice");
  auto s = preview("alice", {addr, "", "express"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cart.subtotal, 2000);
  EXPECT_EQ(s->shipping, 1500);
  EXPECT_EQ(s->total, 3500);
  ASSERT_TRUE(s->shipping_address);
  EXPECT_EQ(s->shipping_address->id, addr);
  EXPECT_EQ(s->billing_address, s->shipping_address);
  EXPECT_EQ(s->methods.size(), 2u);
  EXPECT_TRUE(s->problems.empty());
  EXPECT_TRUE(s->ready);
  EXPECT_EQ(available("sku-1"), 8);
  EXPECT_EQ(cart_of("alice")->items.size(), 1u);
}

TEST_F(Checkout, PreviewListsProblemsAndIsNotReadyWithoutAnAddress) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 4).ok());
  advance_s(601);
  ASSERT_TRUE(add("bob", "sku-1", 9).ok());
  auto s = preview("alice", {"", "", ""});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->problems.size(), 1u);
  EXPECT_EQ(s->problems[0].product_id, "sku-1");
  EXPECT_EQ(s->problems[0].code, error_code::out_of_stock);
  EXPECT_EQ(s->problems[0].available, 1);
  EXPECT_FALSE(s->ready);
  EXPECT_EQ(available("sku-1"), 1);
}

TEST_F(Checkout, AddressesAreValidatedListedAndDeleted) {
  address bad{"", "Ada", "1 Way", "", "London", "", "N1", "gb", ""};
  EXPECT_EQ(add_address("alice", bad).code(), error_code::invalid_request);
  bad.country = "GB";
  bad.name = "";
  EXPECT_EQ(add_address("alice", bad).code(), error_code::invalid_request);
  std::string id = home("alice");
  EXPECT_EQ(id.substr(0, 4), "adr_");
  auto list = call<std::vector<address>>(
      [&](auto done) { engine_.list_addresses("alice", std::move(done)); });
  ASSERT_EQ(list->size(), 1u);
  auto gone = call<ok_t>([&](auto done) { engine_.delete_address("alice", id, std::move(done)); });
  EXPECT_TRUE(gone.ok());
  auto again = call<ok_t>([&](auto done) { engine_.delete_address("alice", id, std::move(done)); });
  EXPECT_EQ(again.code(), error_code::not_found);
}

TEST_F(Checkout, ShippingMethodsCanBeReplacedByAnAdmin) {
  auto now = call<std::vector<shipping_method>>(
      [&](auto done) { engine_.shipping_methods(std::move(done)); });
  ASSERT_EQ(now->size(), 2u);
  EXPECT_EQ(now.value()[0].id, "standard");
  std::vector<shipping_method> next{{"pickup", "Pick up in store", 0}};
  auto replaced = call<std::vector<shipping_method>>(
      [&](auto done) { engine_.replace_shipping_methods(next, std::move(done)); });
  ASSERT_TRUE(replaced.ok());
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1).ok());
  EXPECT_EQ(checkout("alice").code(), error_code::invalid_request);  // standard is gone
  auto r = place("alice", {home("alice"), "", "pickup"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value.shipping, 0);
  std::vector<shipping_method> dup{{"a", "A", 1}, {"a", "B", 2}};
  auto refused = call<std::vector<shipping_method>>(
      [&](auto done) { engine_.replace_shipping_methods(dup, std::move(done)); });
  EXPECT_EQ(refused.code(), error_code::invalid_request);
}

TEST_F(Checkout, TheSameIdempotencyKeyReplaysTheFirstOrder) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1).ok());
  std::string addr = home("alice");
  auto first = place("alice", {addr, "", "standard"}, "key-1");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->replayed);
  auto again = place("alice", {addr, "", "standard"}, "key-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->value, first->value);
  EXPECT_EQ(orders_of("alice")->items.size(), 1u);
  EXPECT_EQ(available("sku-1"), 9);
}

TEST_F(Checkout, TheSameKeyWithAnotherRequestIsAMismatch) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1, "k").ok());
  auto other = add("alice", "sku-1", 2, "k");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.code(), error_code::idempotency_mismatch);
  auto same = add("alice", "sku-1", 1, "k");
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->replayed);
  EXPECT_EQ(available("sku-1"), 9);
}

TEST_F(Checkout, KeysAreScopedToTheUserAndKeptForADay) {
  ASSERT_TRUE(create("sku-1", 10).ok());
  ASSERT_TRUE(add("alice", "sku-1", 1, "k").ok());
  auto bobs = add("bob", "sku-1", 1, "k");
  ASSERT_TRUE(bobs.ok());
  EXPECT_FALSE(bobs->replayed);
  advance_s(23 * 3600);
  EXPECT_TRUE(add("alice", "sku-1", 1, "k")->replayed);
  advance_s(2 * 3600);
  auto fresh = add("alice", "sku-1", 1, "k");
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->replayed);
}

TEST_F(Checkout, FailedRequestsAreNotStoredUnderTheirKey) {
  ASSERT_TRUE(create("sku-1", 1).ok());
  ASSERT_TRUE(add("bob", "sku-1", 1).ok());
  EXPECT_EQ(add("alice", "sku-1", 1, "k").code(), error_code::out_of_stock);
  ASSERT_TRUE(clear("bob").ok());
  settle();
  auto retry = add("alice", "sku-1", 1, "k");
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->replayed);
}

}  // namespace
}  // namespace stampede
