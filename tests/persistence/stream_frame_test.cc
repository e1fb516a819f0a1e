// The replicated log's framing: every kind round-trips, a damaged header is refused, a
// BATCH's body is the very bytes of its log records, and MsgIds name their writer (its
// node and its process's instance).
#include "persistence/stream_frame.h"

#include <gtest/gtest.h>

#include "persistence/wal_format.h"

namespace stampede::repl {
namespace {

std::string some_records(uint64_t first, uint64_t count) {
  std::string out;
  for (uint64_t i = 0; i < count; ++i)
    (void)wal::append_record(out, first + i, on_hand_set{"sku-" + std::to_string(i), int64_t(i)});
  return out;
}

TEST(StreamFrame, EveryKindRoundTrips) {
  frame_writer writer{7, "node-a"};
  for (auto kind : {frame_kind::batch, frame_kind::heartbeat, frame_kind::takeover}) {
    std::string body = kind == frame_kind::batch ? some_records(41, 3) : "http://10.0.0.5:8080";
    std::string bytes = encode_frame(kind, writer, 43, body);
    auto f = decode_frame(bytes);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->kind, kind);
    EXPECT_EQ(f->epoch, 7u);
    EXPECT_EQ(f->last_lsn, 43u);
    EXPECT_EQ(f->node_id, "node-a");
    EXPECT_EQ(f->body, body);
  }
}

TEST(StreamFrame, BatchBodyIsTheLogRecordsThemselves) {
  std::string records = some_records(1, 5);
  std::string bytes = encode_frame(frame_kind::batch, {1, "a"}, 5, records);
  auto f = decode_frame(bytes);
  ASSERT_TRUE(f.has_value());
  // One decoder serves the log and the stream: walk the body as a log.
  size_t at = 0;
  uint64_t expected = 1;
  while (at < f->body.size()) {
    auto h = wal::record_at(f->body, at);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->sequence, expected++);
    at += wal::header_size + h->length;
  }
  EXPECT_EQ(expected, 6u);
}

TEST(StreamFrame, GenesisDependsOnTheClusterAndShardOnly) {
  std::string a = genesis_frame("shop", 2, 4);
  EXPECT_EQ(a, genesis_frame("shop", 2, 4));
  EXPECT_NE(a, genesis_frame("shop", 3, 4));
  auto f = decode_frame(a);
  ASSERT_TRUE(f.has_value());
  auto g = decode_genesis(*f);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->shard, 2u);
  EXPECT_EQ(g->shards, 4u);
  EXPECT_EQ(g->cluster, "shop");
  EXPECT_EQ(f->epoch, 0u);
  EXPECT_TRUE(f->node_id.empty());
}

TEST(StreamFrame, DamagedHeaderIsRefused) {
  std::string good = encode_frame(frame_kind::heartbeat, {3, "b"}, 9, "http://x");
  ASSERT_TRUE(decode_frame(good).has_value());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_FALSE(decode_frame(bad).has_value()) << "flipped byte " << i;
  }
  EXPECT_FALSE(decode_frame(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(decode_frame(good + "x").has_value());
  EXPECT_FALSE(decode_frame("").has_value());
}

TEST(StreamFrame, BatchBodyDamageIsLeftToItsRecordsChecks) {
  std::string records = some_records(1, 2);
  std::string bytes = encode_frame(frame_kind::batch, {1, "a"}, 2, records);
  bytes[bytes.size() - 1] ^= 0x01;
  auto f = decode_frame(bytes);
  ASSERT_TRUE(f.has_value());
  auto second = wal::record_at(f->body, wal::header_size + wal::record_at(f->body, 0)->length);
  EXPECT_FALSE(second.has_value());
}

TEST(StreamFrame, UnknownKindOrVersionIsRefused) {
  std::string good = encode_frame(frame_kind::takeover, {2, "c"}, 0, "http://y");
  std::string kind = good;
  kind[5] = 9;
  EXPECT_FALSE(decode_frame(kind).has_value());
  std::string version = good;
  version[4] = 2;
  EXPECT_FALSE(decode_frame(version).has_value());
}

TEST(StreamFrame, OnlyGenesisHasNoWriter) {
  std::string anonymous = encode_frame(frame_kind::batch, {1, ""}, 0, "");
  EXPECT_FALSE(decode_frame(anonymous).has_value());
}

TEST(StreamFrame, MsgIdNamesClusterShardEpochNodeInstanceAndCount) {
  EXPECT_EQ(msg_id("shop", 3, {12, "node-a", "0123456789abcdef"}, 5),
            "shop.3.12.node-a.0123456789abcdef.5");
  EXPECT_NE(msg_id("shop", 3, {12, "node-a", "1"}, 5), msg_id("shop", 3, {12, "node-b", "1"}, 5));
  EXPECT_NE(msg_id("shop", 3, {12, "node-a", "1"}, 5), msg_id("shop", 3, {13, "node-a", "1"}, 5));
  // Two processes with the same --node-id in the same epoch.
  EXPECT_NE(msg_id("shop", 3, {12, "node-a", "1"}, 5), msg_id("shop", 3, {12, "node-a", "2"}, 5));
  // Without an instance: the form writers before instance ids used.
  EXPECT_EQ(msg_id("shop", 3, {12, "node-a"}, 5), "shop.3.12.node-a.5");
}

TEST(StreamFrame, AnInstanceIdIsSixteenRandomHexDigits) {
  std::string a = random_instance_id(), b = random_instance_id();
  ASSERT_EQ(a.size(), instance_id_length);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST(StreamFrame, TheInstanceIsNotInTheFramesBytes) {
  EXPECT_EQ(encode_frame(frame_kind::heartbeat, {3, "a", "1"}, 9, "http://a"),
            encode_frame(frame_kind::heartbeat, {3, "a", "2"}, 9, "http://a"));
}

TEST(StreamFrame, NamesAreCheckedBeforeTheyBecomeSubjects) {
  EXPECT_TRUE(valid_cluster_name("shop-1_eu"));
  EXPECT_FALSE(valid_cluster_name(""));
  EXPECT_FALSE(valid_cluster_name("a.b"));
  EXPECT_FALSE(valid_cluster_name("a>"));
  EXPECT_FALSE(valid_cluster_name(std::string(cluster_name_length_max + 1, 'a')));
  EXPECT_TRUE(valid_node_id("a"));
  EXPECT_FALSE(valid_node_id("a b"));
  EXPECT_FALSE(valid_node_id(std::string(node_id_length_max + 1, 'a')));
}

}  // namespace
}  // namespace stampede::repl
