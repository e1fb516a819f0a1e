// The topic grammar of core/topic.h: client names, keys, and what is refused.
#include "core/topic.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace stampede {
namespace {

const std::string order_id = "ord_0123abcd000000000001";

TEST(Topic, EveryKeyParsesBackToItself) {
  for (const std::string& key : std::vector<std::string>{
           "product:sku-1", "order:" + order_id, "orders:alice", "admin:orders",
           "queue:fall-drop:alice", "queue:fall-drop:user:with:colons", "admin:stats"}) {
    auto t = parse_topic_key(key);
    ASSERT_TRUE(t.has_value()) << key;
    EXPECT_EQ(topic_key(*t), key);
  }
}

TEST(Topic, KeysWithMalformedIdsAreNotTopics) {
  for (const char* key : {"product:", "product:bad id", "order:ord_nothex", "order:", "orders:",
                          "queue:drop", "queue::alice", "admin:everything", "nope", "product"}) {
    EXPECT_FALSE(parse_topic_key(key).has_value()) << key;
  }
}

TEST(Topic, ClientNamesBecomeKeysForTheRequester) {
  auto orders = parse_client_topic("orders", "alice", false);
  ASSERT_TRUE(orders.parsed);
  EXPECT_EQ(topic_key(*orders.parsed), "orders:alice");
  auto queue = parse_client_topic("queue:fall-drop", "bob", false);
  ASSERT_TRUE(queue.parsed);
  EXPECT_EQ(topic_key(*queue.parsed), "queue:fall-drop:bob");
  auto product = parse_client_topic("product:sku-1", "", false);
  ASSERT_TRUE(product.parsed);
  EXPECT_EQ(product.parsed->kind, topic_kind::product);
  EXPECT_EQ(product.parsed->id, "sku-1");
}

TEST(Topic, ClientNamesSayWhyTheyAreRefused) {
  EXPECT_EQ(parse_client_topic("orders", "", false).refusal, topic_refusal::needs_token);
  EXPECT_EQ(parse_client_topic("order:" + order_id, "", false).refusal,
            topic_refusal::needs_token);
  EXPECT_EQ(parse_client_topic("admin:orders", "alice", false).refusal,
            topic_refusal::needs_admin);
  EXPECT_TRUE(parse_client_topic("admin:orders", "root", true).parsed);
  EXPECT_EQ(parse_client_topic("orders:alice", "alice", false).refusal, topic_refusal::unknown);
  EXPECT_FALSE(parse_client_topic("orders:alice", "alice", false).parsed);
  EXPECT_FALSE(parse_client_topic("product:bad id", "", false).parsed);
}

}  // namespace
}  // namespace stampede
