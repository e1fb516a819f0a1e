// What the NATS tests of the replicated log share (nats_stream_test.cc,
// nats_writer_identity_test.cc): records to publish, a stream per test on the suite's
// three-server cluster, a publisher's outcomes to wait on, the stream read back and
// checked, a TAKEOVER to chain on, and the NatsStreamTest fixture.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "persistence/nats_stream.h"
#include "persistence/stream_frame.h"
#include "persistence/stream_publisher.h"
#include "persistence/wal_format.h"
#include "tests/persistence/nats_cluster.h"

namespace stampede::repl::nats_test {

using stampede::testing::nats_cluster;
using clock_type = std::chrono::steady_clock;

// A generous bound on waits, so that a broken build fails instead of hanging; no test
// depends on anything being fast.
inline constexpr int64_t hang_guard_ms = 60'000;

inline std::string records(uint64_t first, uint64_t count, size_t id_bytes = 8) {
  std::string out;
  for (uint64_t i = 0; i < count; ++i)
    (void)wal::append_record(out, first + i,
                       on_hand_set{std::string(id_bytes, 'p') + std::to_string(first + i),
                                   static_cast<int64_t>(first + i)});
  return out;
}

inline std::unique_ptr<nats_connection> connect(const nats_cluster& cluster) {
  auto c = nats_connection::connect({cluster.urls(), "stampede-test"});
  if (!c) ADD_FAILURE() << c.err().message;
  return c ? std::move(c.value()) : nullptr;
}

// A fresh stream name for every test on a shared cluster.
inline stream_config fresh_stream(int replicas = 3) {
  static std::atomic<int> n{0};
  stream_config c;
  c.cluster = "t" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  c.shard = 0;
  c.shards = 1;
  c.replicas = replicas;
  return c;
}

inline bool ensured(shard_stream& s) {
  auto st = s.ensure();
  if (!st) ADD_FAILURE() << st.err().message;
  return st.ok();
}

// The outcomes of a publisher, for waiting on.
struct outcome_log {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t published_lsn = 0;
  uint64_t published_seq = 0;
  bool fenced = false;
  bool went_back = false;  // an outcome below one before it

  stream_publisher::outcome_handler handler() {
    return [this](const publish_outcome& o) {
      std::lock_guard lock(mu);
      if (o.what == publish_outcome::kind::fenced) {
        fenced = true;
      } else {
        if (o.last_lsn < published_lsn || o.sequence <= published_seq) went_back = true;
        published_lsn = o.last_lsn;
        published_seq = o.sequence;
      }
      cv.notify_all();
    };
  }
  bool wait_published(uint64_t lsn, int64_t timeout_ms = hang_guard_ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return published_lsn >= lsn; });
  }
  bool wait_fenced(int64_t timeout_ms = hang_guard_ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return fenced; });
  }
  uint64_t lsn() {
    std::lock_guard lock(mu);
    return published_lsn;
  }
};

// Every message of the stream from `from` through `through`, read with a tail.
inline std::vector<stream_tail::message> read_stream(nats_connection& c, const stream_config& config,
                                              uint64_t from, uint64_t through) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<stream_tail::message> got;
  stream_tail tail(
      c, config, from,
      [&](stream_tail::message&& m) {
        std::lock_guard lock(mu);
        got.push_back(std::move(m));
        cv.notify_all();
      },
      1'000'000);
  std::unique_lock lock(mu);
  cv.wait_for(lock, std::chrono::milliseconds(hang_guard_ms),
              [&] { return !got.empty() && got.back().sequence >= through; });
  return got;
}

// What a stream holds, as the log records of its BATCH frames: checks that the frames
// decode, that records are numbered 1, 2, ... with no gap and none twice, and that nothing
// of another writer follows a TAKEOVER but the new primary's frames.
struct stream_contents {
  uint64_t last_lsn = 0;
  uint64_t batch_frames = 0;
  uint64_t heartbeats = 0;
  uint64_t takeovers = 0;
  std::string problem;
};
inline stream_contents check_stream(const std::vector<stream_tail::message>& messages) {
  stream_contents c;
  uint64_t expected_seq = messages.empty() ? 0 : messages.front().sequence;
  std::string writer;
  uint64_t epoch = 0;
  for (const auto& m : messages) {
    if (m.sequence != expected_seq++) return c.problem = "gap at " + std::to_string(m.sequence), c;
    auto f = decode_frame(m.data);
    if (!f) return c.problem = "bad frame at " + std::to_string(m.sequence), c;
    if (f->kind == frame_kind::takeover) {
      ++c.takeovers;
      writer = f->node_id;
      epoch = f->epoch;
    } else if (f->kind != frame_kind::genesis && !writer.empty() &&
               (f->node_id != writer || f->epoch != epoch)) {
      return c.problem = "a deposed writer appended at " + std::to_string(m.sequence), c;
    }
    if (f->kind == frame_kind::heartbeat) ++c.heartbeats;
    if (f->kind != frame_kind::batch) continue;
    ++c.batch_frames;
    for (size_t at = 0; at < f->body.size();) {
      auto h = wal::record_at(f->body, at);
      if (!h) return c.problem = "bad record in " + std::to_string(m.sequence), c;
      if (h->sequence != c.last_lsn + 1)
        return c.problem =
                   "record " + std::to_string(h->sequence) + " after " + std::to_string(c.last_lsn),
               c;
      c.last_lsn = h->sequence;
      at += wal::header_size + h->length;
    }
  }
  return c;
}

// A primary's position right after taking over the stream (as a node that applied
// everything would): appends its TAKEOVER at the stream's last sequence.
inline std::optional<publisher_position> take_over(shard_stream& s, const std::string& node,
                                                   uint64_t epoch, uint64_t last_lsn,
                                                   const std::string& instance = "") {
  auto deadline = clock_type::now() + std::chrono::milliseconds(hang_guard_ms);
  while (clock_type::now() < deadline) {
    auto st = s.info();
    if (!st || st->leader.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    frame_writer w{epoch, node, instance};
    auto r =
        s.append(encode_frame(frame_kind::takeover, w, last_lsn, "http://" + node), st->last_seq,
                 msg_id(s.config().cluster, s.config().shard, w, 1), nats_request_wait_ms);
    if (r.status == append_status::appended)
      return publisher_position{epoch, node, "http://" + node, r.sequence, last_lsn, 1, instance};
  }
  return std::nullopt;
}

class NatsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new nats_cluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(cluster_->ready()) << "nats-servers did not come up; logs in " << cluster_->dir();
    conn_ = connect(*cluster_);
    ASSERT_NE(conn_, nullptr);
  }
  static inline nats_cluster* cluster_ = nullptr;
  std::unique_ptr<nats_connection> conn_;
};

}  // namespace stampede::repl::nats_test
