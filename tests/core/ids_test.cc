#include "core/ids.h"

#include <gtest/gtest.h>

#include "core/router.h"

namespace stampede {
namespace {

TEST(Ids, ProductIdsFollowTheApiPattern) {
  EXPECT_TRUE(is_valid_product_id("sku-1"));
  EXPECT_TRUE(is_valid_product_id("A.b_c-9"));
  EXPECT_TRUE(is_valid_product_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_product_id(""));
  EXPECT_FALSE(is_valid_product_id(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_product_id("sku 1"));
  EXPECT_FALSE(is_valid_product_id("sku/1"));
  EXPECT_FALSE(is_valid_product_id("ä"));
}

TEST(Ids, TheStableHashIsTheSameInEveryProcess) {
  // Fixed values: a change here moves every key to another shard and breaks stored ids.
  EXPECT_EQ(stable_hash(""), 0xf52a15e9a9b5e89bULL) << std::hex << stable_hash("");
  EXPECT_EQ(stable_hash("alice"), stable_hash(std::string("alice")));
  EXPECT_NE(stable_hash("alice"), stable_hash("bob"));
}

TEST(Ids, OwnedIdsCarryTheirOwnersTagAndRouteToTheOwnersShard) {
  std::string id = make_owned_id("ord_", user_tag("alice"), 42);
  EXPECT_EQ(id.size(), 4u + 8 + 12);
  EXPECT_EQ(owner_tag_of(id, "ord_"), user_tag("alice"));
  EXPECT_EQ(sequence_of(id, "ord_"), 42u);
  for (uint32_t n : {1u, 2u, 3u, 4u, 7u, 64u}) {
    router r(n);
    EXPECT_EQ(r.owned_id_shard(id, "ord_"), r.user_shard("alice"));
  }
}

TEST(Ids, MalformedOwnedIdsAreRejected) {
  std::string id = make_owned_id("ord_", 7, 1);
  EXPECT_EQ(owner_tag_of(id, "adr_"), std::nullopt);
  EXPECT_EQ(owner_tag_of(id.substr(1), "ord_"), std::nullopt);
  EXPECT_EQ(owner_tag_of("ord_ZZZZZZZZ000000000001", "ord_"), std::nullopt);
  EXPECT_EQ(owner_tag_of("ord_", "ord_"), std::nullopt);
}

TEST(Ids, KeysSpreadOverShards) {
  router r(4);
  int counts[4] = {};
  for (int i = 0; i < 4000; ++i) ++counts[r.product_shard("sku-" + std::to_string(i))];
  for (int c : counts) EXPECT_GT(c, 800);
}

}  // namespace
}  // namespace stampede
