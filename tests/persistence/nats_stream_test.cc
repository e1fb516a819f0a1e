// The replicated log on a real three-server JetStream cluster (Debian's nats-server, on
// loopback): streams start with their genesis, publishes chain, the conditional append
// fences a second writer, a retried MsgId is not stored twice, purge keeps the chain, a
// tail delivers in order and no faster than its consumer, and nothing acknowledged is lost
// when the streams' leader or every server is killed with kill -9.
#include "persistence/nats_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "persistence/stream_frame.h"
#include "persistence/stream_publisher.h"
#include "persistence/wal_format.h"
#include "tests/persistence/nats_cluster.h"
#include "tests/persistence/nats_stream_support.h"

namespace stampede::repl {
namespace {

using namespace nats_test;

TEST_F(NatsStreamTest, EnsureCreatesTheStreamWithItsGenesisOnce) {
  stream_config config = fresh_stream();
  shard_stream a(*conn_, config);
  shard_stream b(*conn_, config);
  result<stream_state> ra = make_error(error_code::io_error, "");
  result<stream_state> rb = make_error(error_code::io_error, "");
  std::thread other([&] { rb = b.ensure(); });
  ra = a.ensure();
  other.join();
  ASSERT_TRUE(ra) << ra.err().message;
  ASSERT_TRUE(rb) << rb.err().message;
  auto st = a.ensure();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->last_seq, 1u) << "two nodes creating the stream wrote one genesis";
  EXPECT_FALSE(st->leader.empty());
  auto first = a.get(1);
  ASSERT_TRUE(first);
  auto f = decode_frame(first->data);
  ASSERT_TRUE(f.has_value());
  auto g = decode_genesis(*f);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->cluster, config.cluster);
}

TEST_F(NatsStreamTest, PublishesChainInOrderAndTheStreamHoldsEveryRecord) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  {
    stream_publisher p(*conn_, config, *start, log.handler(),
                       {4, publisher_batches_queued_max, 1000, 0});
    uint64_t lsn = 0;
    for (int batch = 0; batch < 200; ++batch) {
      p.submit(records(lsn + 1, 10), lsn + 10);
      lsn += 10;
    }
    ASSERT_TRUE(log.wait_published(lsn));
    EXPECT_EQ(p.frames_confirmed(), 200u);
  }
  EXPECT_FALSE(log.went_back);
  EXPECT_FALSE(log.fenced);
  auto st = s.info();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->last_seq, start->last_sequence + 200);
  EXPECT_EQ(log.published_seq, st->last_seq);
  auto c = check_stream(read_stream(*conn_, config, 1, st->last_seq));
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.last_lsn, 2000u);
  EXPECT_EQ(c.batch_frames, 200u);
}

TEST_F(NatsStreamTest, TwoWritersWithTheSameExpectedSequenceExactlyOneWins) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  auto st = s.ensure();
  ASSERT_TRUE(st) << st.err().message;
  uint64_t last = st->last_seq;
  for (int round = 0; round < 40; ++round) {
    append_result ra, rb;
    std::atomic<int> ready{0};
    auto writer = [&](const char* node, append_result& out) {
      frame_writer w{static_cast<uint64_t>(round + 1), node};
      std::string data = encode_frame(frame_kind::takeover, w, 0, "http://x");
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
      out = s.append(data, last, msg_id(config.cluster, 0, w, 1), nats_request_wait_ms);
    };
    std::thread other([&] { writer("b", rb); });
    writer("a", ra);
    other.join();
    int won = (ra.status == append_status::appended) + (rb.status == append_status::appended);
    ASSERT_EQ(won, 1) << "round " << round << ": " << ra.message << " / " << rb.message;
    const append_result& loser = ra.status == append_status::appended ? rb : ra;
    EXPECT_EQ(loser.status, append_status::fenced) << loser.message;
    last = (ra.status == append_status::appended ? ra : rb).sequence;
  }
  auto after = s.info();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->last_seq, last);
}

TEST_F(NatsStreamTest, ARetriedMsgIdIsStoredOnce) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  auto st = s.ensure();
  ASSERT_TRUE(st) << st.err().message;
  frame_writer w{1, "a"};
  std::string data = encode_frame(frame_kind::batch, w, 3, records(1, 3));
  std::string id = msg_id(config.cluster, 0, w, 1);
  auto first = s.append(data, st->last_seq, id, nats_request_wait_ms);
  ASSERT_EQ(first.status, append_status::appended) << first.message;
  EXPECT_FALSE(first.duplicate);
  auto again = s.append(data, st->last_seq, id, nats_request_wait_ms);
  ASSERT_EQ(again.status, append_status::appended) << again.message;
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.sequence, first.sequence);
  auto after = s.info();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->last_seq, first.sequence);
  // Another message with a stale expectation is refused: the chain has moved on.
  auto stale = s.append(encode_frame(frame_kind::batch, w, 4, records(4, 1)), st->last_seq,
                        msg_id(config.cluster, 0, w, 2), nats_request_wait_ms);
  EXPECT_EQ(stale.status, append_status::fenced);
}

TEST_F(NatsStreamTest, PurgeDropsTheFrontAndKeepsTheLastSequence) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  uint64_t last = start->last_sequence;
  frame_writer w{1, "a"};
  for (uint64_t i = 1; i <= 10; ++i) {
    auto r = s.append(encode_frame(frame_kind::batch, w, i, records(i, 1)), last,
                      msg_id(config.cluster, 0, w, i + 1), nats_request_wait_ms);
    ASSERT_EQ(r.status, append_status::appended);
    last = r.sequence;
  }
  ASSERT_TRUE(s.purge_below(last - 2));
  auto st = s.info();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->first_seq, last - 2);
  EXPECT_EQ(st->last_seq, last);
  EXPECT_EQ(st->messages, 3u);
  EXPECT_FALSE(s.get(last - 3)) << "purged";
  auto next = s.append(encode_frame(frame_kind::heartbeat, w, 10, "http://a"), last,
                       msg_id(config.cluster, 0, w, 12), nats_request_wait_ms);
  EXPECT_EQ(next.status, append_status::appended) << "the chain goes on after a purge";
  EXPECT_EQ(next.sequence, last + 1);
  // A tail from before the purge point starts at the first message there is.
  auto tail = read_stream(*conn_, config, 1, last + 1);
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.front().sequence, last - 2);
}

TEST_F(NatsStreamTest, ATailDeliversInOrderFromASequenceNoFasterThanItsConsumer) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  {
    stream_publisher p(*conn_, config, *start, log.handler(),
                       {16, publisher_batches_queued_max, 1000, 0});
    for (uint64_t b = 0; b < 50; ++b) p.submit(records(b * 4 + 1, 4), b * 4 + 4);
    ASSERT_TRUE(log.wait_published(200));
  }
  constexpr size_t window = 4;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> seen;
  size_t outstanding = 0, most_outstanding = 0;
  stream_tail tail(
      *conn_, config, 20,
      [&](stream_tail::message&& m) {
        std::lock_guard lock(mu);
        seen.push_back(m.sequence);
        most_outstanding = std::max(most_outstanding, ++outstanding);
        cv.notify_all();
      },
      window);
  uint64_t last = log.published_seq;
  std::unique_lock lock(mu);
  while (seen.empty() || seen.back() < last) {
    // The consumer takes its time: the tail must wait for it, not pile messages up.
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::milliseconds(hang_guard_ms), [&] {
      return outstanding == window || (!seen.empty() && seen.back() >= last);
    }));
    size_t n = outstanding;
    outstanding = 0;
    lock.unlock();
    tail.consumed(n);
    lock.lock();
  }
  EXPECT_LE(most_outstanding, window);
  ASSERT_EQ(seen.size(), last - 20 + 1);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 20 + i);
  EXPECT_TRUE(tail.healthy());
}

TEST_F(NatsStreamTest, ABatchBiggerThanAMessageIsSplitAtRecordBoundaries) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  std::string big = records(1, 3000, 900);  // ~2.8 MB
  ASSERT_GT(big.size(), 2 * frame_bytes_max);
  {
    stream_publisher p(*conn_, config, *start, log.handler(),
                       {4, publisher_batches_queued_max, 2000, 0});
    p.submit(big, 3000);
    ASSERT_TRUE(log.wait_published(3000));
  }
  auto st = s.info();
  ASSERT_TRUE(st);
  auto messages = read_stream(*conn_, config, start->last_sequence + 1, st->last_seq);
  std::string joined;
  for (const auto& m : messages) {
    EXPECT_LE(m.data.size(), frame_bytes_max);
    auto f = decode_frame(m.data);
    ASSERT_TRUE(f.has_value());
    joined.append(f->body);
  }
  EXPECT_GE(messages.size(), 3u);
  EXPECT_EQ(joined, big) << "the frames carry the batch's very bytes";
}

TEST_F(NatsStreamTest, ATakeoverFencesThePublisherWhichThenAppendsNothing) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  stream_publisher p(*conn_, config, *start, log.handler(),
                     {4, publisher_batches_queued_max, 1000, 50});
  p.submit(records(1, 5), 5);
  ASSERT_TRUE(log.wait_published(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few heartbeats go in
  // Node b takes over while a heartbeats.
  auto b = take_over(s, "b", 2, 5);
  ASSERT_TRUE(b);
  ASSERT_TRUE(log.wait_fenced()) << "the deposed writer learns it from its next heartbeat";
  uint64_t before = log.lsn();
  p.submit(records(6, 5), 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(log.lsn(), before) << "nothing is published after the fence";
  auto st = s.info();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->last_seq, b->last_sequence) << "the deposed writer appended nothing";
  auto c = check_stream(read_stream(*conn_, config, 1, st->last_seq));
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.takeovers, 2u);
  EXPECT_GT(c.heartbeats, 0u);
}

TEST_F(NatsStreamTest, AFencedBatchIsNeverReportedPublished) {
  stream_config config = fresh_stream();
  shard_stream s(*conn_, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  ASSERT_TRUE(take_over(s, "b", 2, 0));  // before a publishes anything
  outcome_log log;
  stream_publisher p(*conn_, config, *start, log.handler(),
                     {4, publisher_batches_queued_max, 1000, 0});
  p.submit(records(1, 5), 5);
  ASSERT_TRUE(log.wait_fenced());
  EXPECT_EQ(log.lsn(), 0u);
}

TEST_F(NatsStreamTest, TheNodeRegistryKeepsEachNodesLatestValue) {
  std::string cluster = fresh_stream().cluster;
  node_registry a(*conn_, cluster, 3, 60'000);
  node_registry b(*conn_, cluster, 3, 60'000);
  // Making the bucket elects its replicas' leader, which may take longer than one request
  // waits on a loaded machine (CI: "cannot create the key-value bucket ...: Timeout"); the
  // node's adverts are advisory and simply try again at the next one, and so does this.
  auto none = a.all();
  for (auto deadline = clock_type::now() + std::chrono::milliseconds(hang_guard_ms);
       !none && clock_type::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    none = a.all();
  }
  ASSERT_TRUE(none) << none.err().message;
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(a.put("a", "url=http://a\nsnapshots=5"));
  ASSERT_TRUE(b.put("b", "url=http://b"));
  ASSERT_TRUE(a.put("a", "url=http://a\nsnapshots=9"));
  auto all = b.all();
  ASSERT_TRUE(all) << all.err().message;
  std::sort(all->begin(), all->end());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0), std::make_pair(std::string("a"), std::string("url=http://a\nsnapshots=9")));
  EXPECT_EQ(all->at(1), std::make_pair(std::string("b"), std::string("url=http://b")));
}

TEST_F(NatsStreamTest, SubmitWaitsWhileTheBoundOfUnconfirmedBatchesIsReached) {
  stream_config config = fresh_stream();  // never created: nothing can be confirmed
  outcome_log log;
  std::atomic<int> submitted{0};
  std::thread writer;
  {
    stream_publisher p(*conn_, config, publisher_position{1, "a", "http://a", 1, 0, 0},
                       log.handler(), {4, 2, 200, 0});
    writer = std::thread([&] {
      for (uint64_t b = 0; b < 3; ++b) {
        p.submit(records(b + 1, 1), b + 1);
        ++submitted;
      }
    });
    auto deadline = clock_type::now() + std::chrono::milliseconds(hang_guard_ms);
    while (submitted.load() < 2 && clock_type::now() < deadline) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(submitted.load(), 2) << "the third batch waits for room";
  }  // stopping releases it
  writer.join();
  EXPECT_EQ(submitted.load(), 3);
  EXPECT_EQ(log.lsn(), 0u);
}

// Publishes a batch every few milliseconds until `stop`.
struct steady_writer {
  stream_publisher& p;
  outcome_log& log;
  uint64_t lsn = 0;
  void write_for(int64_t ms, std::atomic<bool>* stop = nullptr) {
    auto end = clock_type::now() + std::chrono::milliseconds(ms);
    while (clock_type::now() < end && !(stop && stop->load())) {
      p.submit(records(lsn + 1, 5), lsn + 5);  // waits while the publisher is full
      lsn += 5;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
};

// kill -9 of the stream's leader: publishes stall for the election, then resume, and every
// record the publisher said was in the stream is there, once, in order.
TEST(NatsFaults, TheStreamLeaderKilledStallsPublishesThenTheyResumeLosingNothing) {
  nats_cluster cluster(3);
  ASSERT_TRUE(cluster.ready()) << cluster.dir();
  auto conn = connect(cluster);
  ASSERT_NE(conn, nullptr);
  stream_config config = fresh_stream();
  shard_stream s(*conn, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  stream_publisher p(*conn, config, *start, log.handler(),
                     {8, publisher_batches_queued_max, 1000, 200});
  steady_writer w{p, log};
  w.write_for(1000);
  auto st = s.info();
  ASSERT_TRUE(st);
  size_t leader = cluster.index_of(st->leader);
  ASSERT_LT(leader, cluster.size()) << st->leader;
  uint64_t before_kill = log.lsn();
  auto killed_at = clock_type::now();
  cluster.kill(leader);
  w.write_for(2000);
  uint64_t submitted = w.lsn;
  ASSERT_TRUE(log.wait_published(submitted)) << "publishes resume after the election";
  double stall_s = std::chrono::duration<double>(clock_type::now() - killed_at).count();
  std::printf("leader %s killed: everything submitted published %.2f s later\n", st->leader.c_str(),
              stall_s);
  w.write_for(500);
  ASSERT_TRUE(log.wait_published(w.lsn));
  EXPECT_GT(log.lsn(), before_kill);
  EXPECT_FALSE(log.fenced);
  EXPECT_FALSE(log.went_back);
  auto after = s.info();
  ASSERT_TRUE(after);
  auto c = check_stream(read_stream(*conn, config, 1, after->last_seq));
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.last_lsn, w.lsn) << "every published record is in the stream";
  EXPECT_GT(p.resends(), 0u) << "the frames in flight at the kill were sent again";
}

// kill -9 of every server, then a restart: the publisher waits, then goes on, and the
// stream holds every record it said was in.
TEST(NatsFaults, EveryServerKilledAndRestartedLosesNothingAcknowledged) {
  nats_cluster cluster(3);
  ASSERT_TRUE(cluster.ready()) << cluster.dir();
  auto conn = connect(cluster);
  ASSERT_NE(conn, nullptr);
  stream_config config = fresh_stream();
  shard_stream s(*conn, config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  stream_publisher p(*conn, config, *start, log.handler(),
                     {8, publisher_batches_queued_max, 1000, 200});
  steady_writer w{p, log};
  std::atomic<bool> stop{false};
  std::thread writing([&] { w.write_for(hang_guard_ms, &stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  for (size_t i = 0; i < cluster.size(); ++i) cluster.kill(i);
  uint64_t acknowledged = log.lsn();
  for (size_t i = 0; i < cluster.size(); ++i) cluster.start(i);
  EXPECT_TRUE(cluster.wait_ready(hang_guard_ms));
  uint64_t resumed_from = log.lsn();
  ASSERT_TRUE(log.wait_published(resumed_from + 50)) << "publishes go on after the restart";
  stop = true;
  writing.join();
  ASSERT_TRUE(log.wait_published(w.lsn));
  EXPECT_GE(log.lsn(), acknowledged);
  EXPECT_FALSE(log.fenced);
  auto after = s.info();
  ASSERT_TRUE(after);
  auto c = check_stream(read_stream(*conn, config, 1, after->last_seq));
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.last_lsn, w.lsn);
}

// A consumer whose flow-control reply never reaches the server stops delivering, while the
// server's heartbeats go on (nats-server 2.9.10 sends them with Nats-Consumer-Stalled,
// which libnats 3.4.1 does not answer), so no heartbeat is missed and libnats resets
// nothing. The tail must see that the stream holds more than it got and start a new
// consumer at its position. The fault: the tail's user may not publish flow-control
// replies ($JS.FC.>); a consumer sends 2 MB at first before it waits for one.
TEST(NatsTailStall, ATailWhoseFlowControlRepliesAreLostStillGetsEveryMessage) {
  nats_cluster cluster(3, 30'000,
                       "authorization {\n  users = [\n"
                       "    {user: admin, password: admin}\n"
                       "    {user: tail, password: tail,"
                       " permissions: {publish: {deny: [\"$JS.FC.>\"]}}}\n  ]\n}\n");
  ASSERT_TRUE(cluster.ready()) << cluster.dir();
  auto as = [&](const std::string& user) {
    std::vector<std::string> urls;
    for (const auto& u : cluster.urls())
      urls.push_back("nats://" + user + ":" + user + "@" + u.substr(std::string("nats://").size()));
    return nats_connection::connect({urls, "stampede-test-" + user});
  };
  auto admin = as("admin");
  ASSERT_TRUE(admin) << admin.err().message;
  auto reader = as("tail");
  ASSERT_TRUE(reader) << reader.err().message;
  stream_config config = fresh_stream(1);
  shard_stream s(*admin.value(), config);
  ASSERT_TRUE(ensured(s));
  auto start = take_over(s, "a", 1, 0);
  ASSERT_TRUE(start);
  outcome_log log;
  constexpr uint64_t batches = 96, per_batch = 64;  // 64 records of ~1 KB: ~6 MB in all
  {
    stream_publisher p(*admin.value(), config, *start, log.handler(),
                       {16, publisher_batches_queued_max, 1000, 0});
    for (uint64_t b = 0; b < batches; ++b)
      p.submit(records(b * per_batch + 1, per_batch, 1000), (b + 1) * per_batch);
    ASSERT_TRUE(log.wait_published(batches * per_batch));
  }
  auto got = read_stream(*reader.value(), config, 1, log.published_seq);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().sequence, log.published_seq) << "the tail stopped";
  auto c = check_stream(got);
  EXPECT_EQ(c.problem, "");
  EXPECT_EQ(c.last_lsn, batches * per_batch);
}

}  // namespace
}  // namespace stampede::repl
