// A primary's writer of one shard's stream. It appends frames (stream_frame.h) one after
// another, each with ExpectLastSeq = the sequence of the frame before it, a bounded number
// in flight, and says in order how far the submitted batches are in the stream. When the
// stream cannot answer (an election, a lost quorum, a reconnect) it sends the same frames
// again, with the same MsgIds, until they are in: writes stall, nothing is given up. When
// another writer has appended (a takeover) it says `fenced` once and appends nothing more.
// An idle publisher appends a HEARTBEAT. submit() from one thread (the WAL writer's I/O
// thread); outcomes come on the publisher's own thread, whose handler must only pass them on.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "persistence/nats_stream.h"
#include "persistence/stream_frame.h"

namespace stampede::repl {

// Frames sent and not yet answered (each a publish; 4-16 keeps the ack latency low).
inline constexpr size_t publisher_frames_in_flight_max = 16;
// Submitted batches not yet confirmed; submit() waits while there are this many (the
// WAL's I/O thread waits, the shard's next batch grows meanwhile: group commit).
inline constexpr size_t publisher_batches_queued_max = 8;
// How long an ack may take before the frame is sent again.
inline constexpr int64_t publisher_ack_wait_ms = 1000;
// An idle primary's heartbeat period.
inline constexpr int64_t publisher_heartbeat_idle_ms = 200;
// Between attempts while the stream cannot answer, doubling from min to max.
inline constexpr int64_t publisher_retry_wait_min_ms = 20;
inline constexpr int64_t publisher_retry_wait_max_ms = 500;

// Where a writer's chain stands when its publisher starts: right after its TAKEOVER (or
// after the frames of a publisher before it in the same epoch).
struct publisher_position {
  uint64_t epoch = 0;
  std::string node_id;
  std::string url;              // the writer's advertised URL, in its heartbeats
  uint64_t last_sequence = 0;   // stream sequence of the writer's last frame
  uint64_t last_lsn = 0;        // the writer's last log record
  uint64_t frames_written = 0;  // frames of this writer in this epoch (MsgIds go on after)
  std::string instance;         // the writing process's instance id (stream_frame.h, MsgIds)
};

struct publish_outcome {
  enum class kind : uint8_t { published, fenced };
  kind what = kind::published;
  uint64_t last_lsn = 0;  // published: every record through it is in the stream,
  uint64_t sequence = 0;  // through this stream sequence
  std::string message;    // fenced: what the stream said
};

class stream_publisher {
 public:
  using outcome_handler = std::function<void(const publish_outcome&)>;
  struct options {
    size_t frames_in_flight_max = publisher_frames_in_flight_max;
    size_t batches_queued_max = publisher_batches_queued_max;
    int64_t ack_wait_ms = publisher_ack_wait_ms;
    int64_t heartbeat_idle_ms = publisher_heartbeat_idle_ms;  // 0: no heartbeats
  };

  stream_publisher(nats_connection& connection, const stream_config& config,
                   publisher_position start, outcome_handler on_outcome, options opts);
  // Stops: what is not confirmed by then gets no outcome.
  ~stream_publisher();
  // Stops early (any thread): submit() returns at once from now on, nothing more is sent
  // and no outcome comes after this returns.
  void stop();
  stream_publisher(const stream_publisher&) = delete;
  stream_publisher& operator=(const stream_publisher&) = delete;

  // Appends `records` (whole write-ahead-log records, the last one numbered last_lsn),
  // split into frames of at most frame_bytes_max at record boundaries. An outcome says
  // when they are all in. Waits while batches_queued_max batches are unconfirmed (not
  // once fenced or stopping: then it drops them). REQUIRES: no record bigger than a frame.
  void submit(std::string records, uint64_t last_lsn);

  // Counters for metrics and benchmarks (any thread).
  uint64_t frames_confirmed() const;
  uint64_t resends() const;

 private:
  struct pending_frame;
  enum class frame_state : uint8_t { queued, sent, confirmed, failed };

  void run();
  void on_ack(const std::string& msg_id, append_result r);
  // Holding mu_: a frame for `body` after every frame queued so far.
  void enqueue_locked(frame_kind kind, std::string_view body, uint64_t last_lsn, bool ends_batch);
  // Sends every unanswered frame again, in order, one at a time, until each is in or the
  // stream shows another writer. False when fenced (or stopping).
  bool resend_unconfirmed();
  // A 10071 for `f`: is its message there anyway (stored before its ack got lost)? Its
  // MsgId and its very bytes must be there. nullopt: the read failed, so it cannot tell
  // (NATS just back, say); the caller tries again rather than take it for another writer.
  std::optional<bool> stored_anyway(const pending_frame& f);
  // Holding mu_ (released around the handler): pops confirmed frames off the front and
  // hands out the outcomes of the batches and heartbeats they end.
  void report_confirmed(std::unique_lock<std::mutex>& lock);
  void report_fenced(std::unique_lock<std::mutex>& lock, std::string message);
  bool sleep_unless_stopping(int64_t ms);

  // Constant after construction.
  stream_config config_;
  std::string node_id_;
  std::string instance_;
  std::string url_;
  uint64_t epoch_;
  outcome_handler on_outcome_;
  options opts_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<pending_frame> frames_;  // oldest unconfirmed first
  uint64_t next_expected_ = 0;        // ExpectLastSeq of the next frame queued
  uint64_t next_frame_number_ = 0;    // its MsgId's n
  std::string last_id_;               // the MsgId of the frame queued last (its ExpectLastMsgId)
  uint64_t last_lsn_ = 0;             // of the last frame queued
  size_t batches_queued_ = 0;
  size_t in_flight_ = 0;
  bool failed_ = false;  // a frame went unanswered or was refused: resend before going on
  bool fenced_ = false;
  bool stop_ = false;
  uint64_t confirmed_count_ = 0;
  uint64_t resend_count_ = 0;

  std::string last_failure_;  // the publisher's thread only: why it is fenced

  std::unique_ptr<shard_stream> stream_;  // its acks come to on_ack
  std::mutex join_mu_;  // stop() from two threads joins once
  std::thread thread_;
};

}  // namespace stampede::repl
