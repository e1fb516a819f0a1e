// drop_gate::decide: the drops' rules around the catalog's, and its short path for a shard
// with no drop and no waitlist (issue 13), which must still keep a limit across accounts.
#include "core/drop_gate.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

constexpr int64_t now_ms = 1'795'000'000'000;

catalog with_product(int64_t max_per_address) {
  catalog products;
  product_create c;
  c.id = "sku-1";
  c.name = "Sneaker";
  c.price = 12999;
  c.on_hand = 100;
  c.max_per_address = max_per_address;
  EXPECT_TRUE(products.create(c).ok());
  return products;
}

stock_ask take(int64_t units, std::string address_key = "") {
  stock_ask a{"sku-1", units, true, units, 0};
  if (!address_key.empty()) {
    ask_terms& t = a.set_terms();
    t.limit = limit_scope::address;
    t.limit_key = std::move(address_key);
  }
  return a;
}

TEST(DropGate, AnOrdinaryTakeOnAShardWithoutDropsIsGrantedWithoutTerms) {
  catalog products = with_product(0);
  drop_gate gate;
  stock_answer a = gate.decide(products, take(3), now_ms);
  EXPECT_FALSE(a.refused.has_value());
  EXPECT_TRUE(a.reserved);
  EXPECT_EQ(a.available, 97);
  EXPECT_EQ(a.terms, nullptr);  // nothing boxed for the hot path's answer
  EXPECT_EQ(products.find("sku-1")->units.reserved(), 3);
}

TEST(DropGate, ALimitPerAddressHoldsOnAShardWithNoDropAndNoWaitlist) {
  catalog products = with_product(2);
  drop_gate gate;
  stock_answer first = gate.decide(products, take(2, "1 main st"), now_ms);
  ASSERT_FALSE(first.refused.has_value());
  EXPECT_TRUE(first.limit_counted());
  stock_answer second = gate.decide(products, take(1, "1 main st"), now_ms);
  ASSERT_TRUE(second.refused.has_value());
  EXPECT_EQ(*second.refused, error_code::limit_exceeded);
  ASSERT_NE(second.terms, nullptr);
  EXPECT_EQ(second.terms->refused_limit, limit_scope::address);
  EXPECT_EQ(second.terms->limit, 2);
  EXPECT_EQ(second.terms->limit_already, 2);
  EXPECT_FALSE(second.reserved);
  EXPECT_EQ(products.find("sku-1")->units.reserved(), 2);  // the refused take gave its unit back
  EXPECT_FALSE(gate.decide(products, take(1, "2 side st"), now_ms).refused.has_value());
}

TEST(DropGate, AProductInADropRefusesATakeWithoutItsAdmissionAndNamesTheDrop) {
  catalog products = with_product(0);
  drop_gate gate;
  gate.claims().set("sku-1", drop_claim{"fall", drop_mode::queue, now_ms - 1});
  stock_answer refused = gate.decide(products, take(1), now_ms);
  ASSERT_TRUE(refused.refused.has_value());
  EXPECT_EQ(*refused.refused, error_code::not_admitted);
  EXPECT_EQ(refused.drop_id(), "fall");
  stock_ask admitted = take(1);
  admitted.set_terms().pass = take_pass{take_pass::kind::admission, "fall"};
  stock_answer granted = gate.decide(products, admitted, now_ms);
  EXPECT_FALSE(granted.refused.has_value());
  EXPECT_EQ(granted.drop_id(), "fall");
}

}  // namespace
}  // namespace stampede
