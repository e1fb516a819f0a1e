#include "persistence/stream_publisher.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "core/check.h"
#include "persistence/wal_format.h"

namespace stampede::repl {

namespace {

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One whole write-ahead-log record at the front of `bytes`: its size and sequence.
struct record_span {
  size_t bytes = 0;
  uint64_t sequence = 0;
};
record_span record_at_front(std::string_view bytes) {
  STAMPEDE_CHECK(bytes.size() >= wal::header_size);
  record_span r;
  r.bytes = wal::header_size + wal::load_u32(bytes.data());
  r.sequence = wal::load_u64(bytes.data() + 10);
  STAMPEDE_CHECK(r.bytes <= bytes.size());
  return r;
}

}  // namespace

struct stream_publisher::pending_frame {
  std::string bytes;
  std::string id;
  std::string expected_last_id;  // the writer's frame before it ("" for a writer's first)
  uint64_t expected_last_seq = 0;
  uint64_t last_lsn = 0;
  bool ends_submission = false;  // the last frame of a batch, or a heartbeat
  bool ends_batch = false;
  frame_state state = frame_state::queued;
};

stream_publisher::stream_publisher(nats_connection& connection, const stream_config& config,
                                   publisher_position start, outcome_handler on_outcome,
                                   options opts)
    : config_(config),
      node_id_(std::move(start.node_id)),
      instance_(std::move(start.instance)),
      url_(std::move(start.url)),
      epoch_(start.epoch),
      on_outcome_(std::move(on_outcome)),
      opts_(opts),
      next_expected_(start.last_sequence),
      next_frame_number_(start.frames_written),
      last_lsn_(start.last_lsn) {
  // The frame before ours is this writer's own (its TAKEOVER at least) when it has written
  // any in this epoch.
  if (start.frames_written > 0)
    last_id_ = msg_id(config_.cluster, config_.shard, frame_writer{epoch_, node_id_, instance_},
                      start.frames_written);
  STAMPEDE_CHECK(next_expected_ >= 1 && opts_.frames_in_flight_max >= 1 &&
                 opts_.batches_queued_max >= 1 && opts_.ack_wait_ms > 0);
  stream_ = std::make_unique<shard_stream>(
      connection, config_, [this](const std::string& id, append_result r) { on_ack(id, r); });
  thread_ = std::thread([this] { run(); });
}

stream_publisher::~stream_publisher() {
  stop();
  stream_.reset();  // waits for the acks still to come, which lock mu_
}

void stream_publisher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  std::lock_guard lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void stream_publisher::enqueue_locked(frame_kind kind, std::string_view body, uint64_t last_lsn,
                                      bool ends_batch) {
  pending_frame f;
  frame_writer writer{epoch_, node_id_, instance_};
  f.bytes = encode_frame(kind, writer, last_lsn, body);
  f.id = msg_id(config_.cluster, config_.shard, writer, ++next_frame_number_);
  f.expected_last_seq = next_expected_++;
  f.expected_last_id = std::exchange(last_id_, f.id);
  f.last_lsn = last_lsn;
  f.ends_batch = ends_batch;
  f.ends_submission = ends_batch || kind == frame_kind::heartbeat;
  last_lsn_ = last_lsn;
  frames_.push_back(std::move(f));
}

void stream_publisher::submit(std::string records, uint64_t last_lsn) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return fenced_ || stop_ || batches_queued_ < opts_.batches_queued_max; });
  if (fenced_ || stop_) return;  // the writer has been told; nothing more goes out
  size_t room = frame_bytes_max - frame_header_size - node_id_.size();
  std::string_view all = records;
  for (size_t at = 0; at < all.size();) {
    size_t take = 0;
    uint64_t chunk_lsn = 0;
    while (at + take < all.size()) {
      record_span r = record_at_front(all.substr(at + take));
      STAMPEDE_CHECK(r.bytes <= room);  // a record bigger than a frame cannot be replicated
      if (take + r.bytes > room) break;
      take += r.bytes;
      chunk_lsn = r.sequence;
    }
    enqueue_locked(frame_kind::batch, all.substr(at, take), chunk_lsn, at + take == all.size());
    at += take;
  }
  STAMPEDE_CHECK(last_lsn_ == last_lsn);
  ++batches_queued_;
  cv_.notify_all();
}

void stream_publisher::on_ack(const std::string& msg_id, append_result r) {
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(frames_.begin(), frames_.end(),
                           [&](const pending_frame& f) { return f.id == msg_id; });
    if (it == frames_.end() || it->state != frame_state::sent) return;
    // In the stream at the sequence it chained to: stored. Anywhere else, or not at all:
    // the resend decides. So does a duplicate: this is the frame's first send (resends go
    // through append()), so a message with its MsgId that was there before is another
    // writer's (a process with the same ids), not ours, and JetStream answers a duplicate
    // before it checks the expected sequence: the resend looks at the bytes stored.
    bool in_place = r.status == append_status::appended && !r.duplicate &&
                    r.sequence == it->expected_last_seq + 1;
    it->state = in_place ? frame_state::confirmed : frame_state::failed;
    if (!in_place) failed_ = true;
    --in_flight_;
  }
  cv_.notify_all();
}

void stream_publisher::report_confirmed(std::unique_lock<std::mutex>& lock) {
  std::optional<publish_outcome> latest;
  while (!frames_.empty() && frames_.front().state == frame_state::confirmed) {
    const pending_frame& f = frames_.front();
    ++confirmed_count_;
    if (f.ends_submission) {
      latest = publish_outcome{publish_outcome::kind::published, f.last_lsn,
                               f.expected_last_seq + 1, ""};
    }
    if (f.ends_batch) --batches_queued_;
    frames_.pop_front();
  }
  if (!latest) return;
  cv_.notify_all();  // room for a waiting submit()
  // Outcomes only grow: the latest says everything the ones before it would have.
  lock.unlock();
  on_outcome_(*latest);
  lock.lock();
}

void stream_publisher::report_fenced(std::unique_lock<std::mutex>& lock, std::string message) {
  fenced_ = true;
  cv_.notify_all();
  lock.unlock();
  on_outcome_(publish_outcome{publish_outcome::kind::fenced, 0, 0, std::move(message)});
  lock.lock();
}

bool stream_publisher::sleep_unless_stopping(int64_t ms) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_; });
}

std::optional<bool> stream_publisher::stored_anyway(const pending_frame& f) {
  auto there = stream_->get(f.expected_last_seq + 1);
  if (!there) return std::nullopt;
  return there->msg_id == f.id && there->data == f.bytes;
}

bool stream_publisher::resend_unconfirmed() {
  for (;;) {
    std::unique_lock lock(mu_);
    report_confirmed(lock);
    // The first frame not in the stream yet; queued ones were never sent (the normal path
    // sends them).
    auto it = std::find_if(frames_.begin(), frames_.end(), [](const pending_frame& f) {
      return f.state != frame_state::confirmed;
    });
    if (it == frames_.end() || it->state == frame_state::queued) return true;
    pending_frame& f = *it;  // stable: only this thread pops, submit() appends
    lock.unlock();
    int64_t wait_ms = publisher_retry_wait_min_ms;
    for (;;) {
      append_result r = stream_->append(f.bytes, f.expected_last_seq, f.id, opts_.ack_wait_ms,
                                          f.expected_last_id);
      if (r.status == append_status::appended && r.duplicate) {
        // Stored before under this MsgId: ours (an earlier send whose ack was lost) only if
        // the bytes there are this frame's.
        auto there = stream_->get(r.sequence);
        if (there && (there->msg_id != f.id || there->data != f.bytes)) {
          last_failure_ = "another writer stored a message with MsgId " + f.id + " at sequence " +
                          std::to_string(r.sequence);
          return false;
        }
        if (!there) r.status = append_status::timeout;  // cannot tell yet: try again
      }
      if (r.status == append_status::fenced) {
        std::optional<bool> stored = stored_anyway(f);
        if (stored == true) break;
        if (!stored) r.status = append_status::timeout;  // cannot tell yet: try again
      }
      bool in_place = r.status == append_status::appended && r.sequence == f.expected_last_seq + 1;
      if (in_place) break;
      if (r.status == append_status::appended) {
        last_failure_ = "its message is at sequence " + std::to_string(r.sequence) + ", not " +
                        std::to_string(f.expected_last_seq + 1);
        return false;
      }
      if (r.status == append_status::fenced) {
        last_failure_ = r.message;
        return false;
      }
      if (!sleep_unless_stopping(wait_ms)) return false;
      wait_ms = std::min(wait_ms * 2, publisher_retry_wait_max_ms);
    }
    lock.lock();
    f.state = frame_state::confirmed;
    ++resend_count_;
  }
}

void stream_publisher::run() {
  std::unique_lock lock(mu_);
  int64_t last_sent_ms = monotonic_ms();
  auto work = [&] {
    if (stop_ || failed_) return true;
    if (!frames_.empty() && frames_.front().state == frame_state::confirmed) return true;
    if (in_flight_ >= opts_.frames_in_flight_max) return false;
    return std::any_of(frames_.begin(), frames_.end(),
                       [](const pending_frame& f) { return f.state == frame_state::queued; });
  };
  while (!stop_) {
    report_confirmed(lock);
    if (fenced_) {
      cv_.wait(lock, [&] { return stop_; });
      break;
    }
    if (failed_) {
      if (in_flight_ > 0) {  // every send has a deadline: wait for all their answers
        cv_.wait(lock, [&] { return stop_ || in_flight_ == 0; });
        continue;
      }
      lock.unlock();
      bool ok = resend_unconfirmed();
      lock.lock();
      if (!ok && !stop_) report_fenced(lock, last_failure_);
      failed_ = false;
      continue;
    }
    for (size_t i = 0; i < frames_.size() && in_flight_ < opts_.frames_in_flight_max; ++i) {
      if (frames_[i].state != frame_state::queued) continue;
      pending_frame& f = frames_[i];
      f.state = frame_state::sent;
      ++in_flight_;
      lock.unlock();
      bool sent = stream_->publish(f.bytes, f.expected_last_seq, f.id, opts_.ack_wait_ms,
                                   f.expected_last_id);
      lock.lock();
      last_sent_ms = monotonic_ms();
      if (!sent && f.state == frame_state::sent) {
        f.state = frame_state::failed;
        --in_flight_;
        failed_ = true;
        break;
      }
    }
    int64_t idle_ms = monotonic_ms() - last_sent_ms;
    if (opts_.heartbeat_idle_ms > 0 && frames_.empty() && idle_ms >= opts_.heartbeat_idle_ms) {
      enqueue_locked(frame_kind::heartbeat, url_, last_lsn_, false);
      continue;
    }
    int64_t wait_ms = opts_.heartbeat_idle_ms > 0 ? opts_.heartbeat_idle_ms - idle_ms : 1000;
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait_ms, 1)), work);
  }
}

uint64_t stream_publisher::frames_confirmed() const {
  std::lock_guard lock(mu_);
  return confirmed_count_;
}

uint64_t stream_publisher::resends() const {
  std::lock_guard lock(mu_);
  return resend_count_;
}

}  // namespace stampede::repl
