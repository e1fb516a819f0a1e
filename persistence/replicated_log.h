// A shard's effect_log under --replicate. On the primary (replicated_log): the shard's
// write-ahead log (the local fdatasync) and its stream (a JetStream quorum's ack), each
// group-commit batch going to both; a record is durable once both have it, and with
// --durability async a client's answer waits for the stream's ack alone. On a standby or
// replica (follower_log): nothing is recorded; records come from the stream and count as
// durable as they are applied. Both say which stream sequence covers a log position, for
// the snapshots. Thread-safety: the effect_log calls on the shard's thread; positions()
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/effect.h"
#include "persistence/stream_publisher.h"
#include "persistence/wal_writer.h"

namespace stampede::repl {

// Stream positions of log positions, as records are published or applied: (last lsn of a
// frame or batch, its stream sequence). Bounded: the oldest are forgotten, and the first
// (where the writer's epoch or the follower's catch-up began) is always kept.
inline constexpr size_t stream_positions_max = 65'536;

class stream_positions {
 public:
  explicit stream_positions(uint64_t base_lsn = 0, uint64_t base_sequence = 0)
      : base_{base_lsn, base_sequence} {}
  // Records through `lsn` are in the stream through `sequence`. Any one thread.
  void note(uint64_t lsn, uint64_t sequence);
  // The stream sequence of the last frame whose records are all at or before `lsn`: a
  // follower starting after a snapshot that covers `lsn` reads from the next one (and
  // skips what it already has). Any thread.
  uint64_t sequence_through(uint64_t lsn) const;

 private:
  mutable std::mutex mu_;
  std::pair<uint64_t, uint64_t> base_;               // guarded by mu_
  std::deque<std::pair<uint64_t, uint64_t>> seen_;   // guarded by mu_; ascending
};

// The primary's log.
class replicated_log final : public effect_log {
 public:
  // On the publisher's thread: they must only pass the news on.
  struct hooks {
    // Records through `lsn` are in the stream, through message `sequence`: the shard should
    // look at durable_lsn() again.
    std::function<void(uint64_t lsn, uint64_t sequence)> published;
    std::function<void(std::string)> fenced;  // another writer appended: we are deposed
  };
  // Starts a new log segment after `start.last_lsn` in `dir` and publishes from `start`
  // (right after the writer's TAKEOVER); `synced` as for wal_writer::open. `positions`
  // (the shard's, outliving the log) learns where each published batch is. "" or an error.
  static std::string open(const std::string& dir, uint32_t shard, uint64_t segment_bytes,
                          nats_connection& connection, const stream_config& config,
                          publisher_position start, stream_positions& positions, hooks h,
                          std::function<void(uint64_t)> synced,
                          std::unique_ptr<replicated_log>& out);
  ~replicated_log() override;

  uint64_t append(const effect& e) override { return writer_->append(e); }
  void flush() override { writer_->flush(); }
  uint64_t durable_lsn() const override;
  void mark_durable(uint64_t lsn) override { writer_->mark_durable(lsn); }
  bool answers_wait_for_ack() const override { return true; }
  uint64_t acknowledged_lsn() const override { return published_.load(std::memory_order_acquire); }

  bool fenced() const { return fenced_.load(); }

 private:
  replicated_log(uint64_t start_lsn, stream_positions& positions, hooks h);
  void on_outcome(const publish_outcome& o);

  hooks hooks_;
  stream_positions& positions_;
  std::atomic<uint64_t> published_;
  std::atomic<bool> fenced_{false};
  // Stopped before the writer goes (its I/O thread may wait in submit()), destroyed after.
  std::unique_ptr<stream_publisher> publisher_;
  std::unique_ptr<wal::wal_writer> writer_;
};

// A follower's log: records arrive applied (replica_ops.h), through mark_durable().
class follower_log final : public effect_log {
 public:
  explicit follower_log(uint64_t lsn) : applied_(lsn) {}
  uint64_t append(const effect&) override;  // a follower records nothing: aborts
  void flush() override {}
  uint64_t durable_lsn() const override { return applied_; }
  void mark_durable(uint64_t lsn) override { applied_ = lsn; }

 private:
  uint64_t applied_;
};

}  // namespace stampede::repl
