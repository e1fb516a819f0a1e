// Two processes started with the same --node-id (a node restarted while its old process
// still runs, a copy of a data directory started twice): both compute the same epoch, and
// JetStream checks a MsgId before ExpectLastSeq/ExpectLastMsgId, so with MsgIds made of the
// node id alone the second process's takeover came back as a "duplicate" at exactly the
// sequence it expected and both became primary. Each process's instance id in its MsgIds
// fences the second like any other writer; a duplicate that is not the writer's own bytes
// fences it too. Streams written with MsgIds of the form before instance ids read and chain
// on. On the suite's real three-server JetStream cluster (nats_stream_support.h).
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "persistence/nats_stream.h"
#include "persistence/stream_frame.h"
#include "persistence/stream_publisher.h"
#include "tests/persistence/nats_stream_support.h"

namespace stampede::repl {
namespace {

using namespace nats_test;

// The frame at `sequence` of the stream, decoded (its body is a view of `holder`).
std::optional<frame> frame_at(shard_stream& s, uint64_t sequence, stored_message& holder) {
  auto m = s.get(sequence);
  if (!m) return std::nullopt;
  holder = std::move(m.value());
  return decode_frame(holder.data);
}

TEST_F(NatsStreamTest, TwoProcessesOfOneNodeWithTheSameExpectedSequenceExactlyOneWins) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  auto st = s.ensure();
  ASSERT_TRUE(st) << st.err().message;
  uint64_t last = st->last_seq;
  for (int round = 0; round < 20; ++round) {
    append_result r1, r2;
    std::string i1 = random_instance_id(), i2 = random_instance_id();
    ASSERT_EQ(i1.size(), instance_id_length);
    ASSERT_NE(i1, i2);
    std::atomic<int> ready{0};
    // Node "a" twice, in the same epoch, each with the URL of its own port.
    auto writer = [&](const std::string& instance, const char* url, append_result& out) {
      frame_writer w{static_cast<uint64_t>(round + 1), "a", instance};
      std::string data = encode_frame(frame_kind::takeover, w, 0, url);
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
      out = s.append(data, last, msg_id(config.cluster, 0, w, 1), nats_request_wait_ms);
    };
    std::thread other([&] { writer(i2, "http://127.0.0.1:2", r2); });
    writer(i1, "http://127.0.0.1:1", r1);
    other.join();
    int won = (r1.status == append_status::appended) + (r2.status == append_status::appended);
    ASSERT_EQ(won, 1) << "round " << round << ": " << r1.message << " / " << r2.message
                      << (r1.duplicate || r2.duplicate ? " (one was a duplicate)" : "");
    const append_result& winner = r1.status == append_status::appended ? r1 : r2;
    const append_result& loser = r1.status == append_status::appended ? r2 : r1;
    EXPECT_FALSE(winner.duplicate);
    EXPECT_EQ(loser.status, append_status::fenced) << loser.message;
    EXPECT_EQ(winner.sequence, last + 1);
    last = winner.sequence;
  }
  auto after = s.info();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->last_seq, last);
}

// Both processes start publishing from the same position (the chain after the takeover
// stored once): the first publishes, the second is fenced and the stream holds only the
// first's records.
void two_publishers_from_one_position(nats_connection& conn, const std::string& second_instance) {
  stream_config config = fresh_stream();
  shard_stream s(conn, config);
  ASSERT_TRUE(ensured(s));
  std::string first_instance = random_instance_id();
  auto start = take_over(s, "a", 1, 0, first_instance);
  ASSERT_TRUE(start);
  publisher_position second_start = *start;
  second_start.instance = second_instance.empty() ? first_instance : second_instance;
  outcome_log first_log, second_log;
  std::string first_records = records(1, 5), second_records = records(1, 5, 12);
  {
    stream_publisher first(conn, config, *start, first_log.handler(),
                           {4, publisher_batches_queued_max, 1000, 0});
    first.submit(first_records, 5);
    ASSERT_TRUE(first_log.wait_published(5));
    stream_publisher second(conn, config, second_start, second_log.handler(),
                            {4, publisher_batches_queued_max, 1000, 0});
    second.submit(second_records, 5);
    ASSERT_TRUE(second_log.wait_fenced());
    EXPECT_EQ(second_log.lsn(), 0u) << "the second writer's batch was said to be published";
    first.submit(records(6, 5), 10);
    ASSERT_TRUE(first_log.wait_published(10)) << "the first goes on";
  }
  EXPECT_FALSE(first_log.fenced);
  auto st = s.info();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->last_seq, start->last_sequence + 2);
  auto c = check_stream(read_stream(conn, config, 1, st->last_seq));
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.last_lsn, 10u);
  stored_message holder;
  auto f = frame_at(s, start->last_sequence + 1, holder);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->body, first_records) << "the first writer's records, not the second's";
}

TEST_F(NatsStreamTest, TwoPublishersOfOneNodeFromOnePositionTheSecondIsFenced) {
  two_publishers_from_one_position(*conn_, random_instance_id());
}

// The MsgIds of the two collide (as two processes of one node wrote before instance ids):
// JetStream answers the second's frames "duplicate" at the sequence they expected. A
// duplicate on a frame's first send is another writer's: the resend finds other bytes
// under the MsgId and the second is fenced.
TEST_F(NatsStreamTest, APublisherWhoseMsgIdsAnotherWriterStoredIsFenced) {
  two_publishers_from_one_position(*conn_, "");
}

TEST_F(NatsStreamTest, AStreamWithMsgIdsOfTheFormBeforeInstanceIdsReadsAndChainsOn) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  // Epoch 1 by a writer of before (no instance in its MsgIds), epoch 2 by node a again.
  auto old_start = take_over(s, "a", 1, 0, "");
  ASSERT_TRUE(old_start);
  outcome_log old_log;
  {
    stream_publisher p(*conn_, config, *old_start, old_log.handler(),
                       {4, publisher_batches_queued_max, 1000, 0});
    p.submit(records(1, 5), 5);
    ASSERT_TRUE(old_log.wait_published(5));
  }
  std::string instance = random_instance_id();
  auto start = take_over(s, "a", 2, 5, instance);
  ASSERT_TRUE(start);
  outcome_log log;
  {
    stream_publisher p(*conn_, config, *start, log.handler(),
                       {4, publisher_batches_queued_max, 1000, 0});
    p.submit(records(6, 5), 10);
    ASSERT_TRUE(log.wait_published(10));
  }
  EXPECT_FALSE(log.fenced);
  auto st = s.info();
  ASSERT_TRUE(st);
  auto c = check_stream(read_stream(*conn_, config, 1, st->last_seq));
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.last_lsn, 10u);
  EXPECT_EQ(c.takeovers, 2u);
  auto old_one = s.get(old_start->last_sequence + 1);
  ASSERT_TRUE(old_one);
  EXPECT_EQ(old_one->msg_id, config.cluster + ".0.1.a.2");
  auto new_one = s.get(start->last_sequence + 1);
  ASSERT_TRUE(new_one);
  EXPECT_EQ(new_one->msg_id, config.cluster + ".0.2.a." + instance + ".2");
}

}  // namespace
}  // namespace stampede::repl
