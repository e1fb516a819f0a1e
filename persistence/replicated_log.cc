#include "persistence/replicated_log.h"

#include <algorithm>

#include "core/check.h"
#include "persistence/files.h"

namespace stampede::repl {

// ---- Positions ----

void stream_positions::note(uint64_t lsn, uint64_t sequence) {
  std::lock_guard lock(mu_);
  if (!seen_.empty() && seen_.back().second >= sequence) return;
  seen_.emplace_back(lsn, sequence);
  if (seen_.size() > stream_positions_max) seen_.pop_front();
}

uint64_t stream_positions::sequence_through(uint64_t lsn) const {
  std::lock_guard lock(mu_);
  // The last entry at or before lsn (entries ascend in both fields).
  auto it = std::upper_bound(seen_.begin(), seen_.end(), lsn,
                             [](uint64_t l, const auto& e) { return l < e.first; });
  if (it != seen_.begin()) return std::prev(it)->second;
  return lsn >= base_.first ? base_.second : 0;
}

// ---- The primary's log ----

replicated_log::replicated_log(uint64_t start_lsn, stream_positions& positions, hooks h)
    : hooks_(std::move(h)), positions_(positions), published_(start_lsn) {}

std::string replicated_log::open(const std::string& dir, uint32_t shard, uint64_t segment_bytes,
                                 nats_connection& connection, const stream_config& config,
                                 publisher_position start, stream_positions& positions, hooks h,
                                 std::function<void(uint64_t)> synced,
                                 std::unique_ptr<replicated_log>& out) {
  uint64_t last_lsn = start.last_lsn;
  std::unique_ptr<replicated_log> log(new replicated_log(last_lsn, positions, std::move(h)));
  positions.note(last_lsn, start.last_sequence);
  replicated_log* self = log.get();
  log->publisher_ = std::make_unique<stream_publisher>(
      connection, config, std::move(start),
      [self](const publish_outcome& o) { self->on_outcome(o); }, stream_publisher::options{});
  // Each batch the writer's I/O thread takes goes to the stream before its local write:
  // the two run side by side (submit() returns once the frames are queued).
  auto tap = [self](std::string_view records, uint64_t lsn) {
    self->publisher_->submit(std::string(records), lsn);
  };
  std::string path = wal::segment_path(dir, shard, last_lsn + 1);
  auto err = wal::wal_writer::open(dir, shard, path, 0, last_lsn, segment_bytes,
                                   std::move(synced), log->writer_, std::move(tap));
  if (!err.empty()) return err;
  out = std::move(log);
  return "";
}

replicated_log::~replicated_log() {
  if (publisher_) publisher_->stop();  // releases the writer's I/O thread if it waits in submit()
  writer_.reset();
  publisher_.reset();
}

uint64_t replicated_log::durable_lsn() const {
  return std::min(writer_->durable_lsn(), published_.load(std::memory_order_acquire));
}

void replicated_log::on_outcome(const publish_outcome& o) {
  if (o.what == publish_outcome::kind::fenced) {
    fenced_.store(true);
    if (hooks_.fenced) hooks_.fenced(o.message);
    return;
  }
  positions_.note(o.last_lsn, o.sequence);
  published_.store(o.last_lsn, std::memory_order_release);
  if (hooks_.published) hooks_.published(o.last_lsn, o.sequence);
}

// ---- A follower's log ----

uint64_t follower_log::append(const effect&) {
  // Only a primary records: a follower's requests that change anything are refused before
  // they reach a shard, and its timers change nothing.
  STAMPEDE_CHECK(false);
  return 0;
}

}  // namespace stampede::repl
