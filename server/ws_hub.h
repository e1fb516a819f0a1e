// One shard's WebSocket hub (Beast chat-multi's shared_state, for live updates): the
// WebSocket sessions this shard holds, who is subscribed to which core topic, and the
// live sink (core/live.h) through which the shard delivers watch answers and events; it
// fans each event out to the subscribed sessions once, then writes each session's frames
// in one flush pass, and keeps the sessions' idle and close timeouts with one timer.
// Shard-local: only the owning shard's thread touches it, so no locks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/engine.h"
#include "core/live.h"
#include "server/json.h"
#include "server/metrics.h"
#include "server/sweep_timer.h"
#include "server/transport_limits.h"
#include "server/ws_frame.h"

namespace stampede::repl {
class replication_node;
}

namespace stampede::http {

class ws_session;

class ws_hub final : public live_sink {
 public:
  // `replication`: with --replicate, the node (a standby or replica serves product topics
  // only); else null.
  ws_hub(engine& eng, uint32_t shard, const presentation& pres, metrics& m,
         const repl::replication_node* replication = nullptr)
      : eng_(eng), shard_(shard), pres_(pres), stats_(m), replication_(replication) {}

  // A session opens and closes (its constructor and destructor); the first one's executor
  // (this shard's io_context) runs the flush passes and the sweep.
  void join(ws_session* s, const boost::asio::any_io_executor& ex);
  void leave(ws_session* s) { sessions_.erase(s); }
  size_t session_count() const { return sessions_.size(); }
  metrics& stats() { return stats_; }

  // The session has frames to write. They are written in the next flush pass, which runs
  // after the handlers already queued on the shard (the rest of this batch of events), so
  // what one batch delivers to a session leaves in one write; a pass writes
  // ws_flush_slice_sessions sessions at a time, letting the shard's sockets in between.
  void schedule_flush(std::shared_ptr<ws_session> s);
  // Where sessions receive into: one buffer for the shard; a session keeps only the part
  // of a frame whose rest has not arrived.
  std::span<char> read_buffer() { return read_buffer_; }

  // Starts a subscription to a core topic; the answer comes through watch_answered.
  void subscribe(const std::shared_ptr<ws_session>& s, std::string topic, std::string client_topic);
  // When this node follows a primary (a standby or a replica): the primary's advertised URL
  // ("" when none is known). Such a node serves product topics only (API.md).
  std::optional<std::string> following() const;
  // While this node rebuilds its store (starting), product topics are not served from it.
  bool rebuilding() const;
  // Ends one (answered or not).
  void unsubscribe(ws_session& s, const std::string& topic);
  // Draining: every session is closed with "going away".
  void close_all();
  // The drain's time is up: every session still open is closed at once, without waiting
  // for the client's close frame.
  void end_all();
  // A message made once for a topic no shard owns the data of (admin:stats), sent to this
  // shard's subscribers of `key`; an unsent older one is replaced.
  void publish(const std::string& key, const std::shared_ptr<const ws::frame>& message);

  void watch_answered(uint64_t ticket, result<watch_snapshot> answer) override;
  void order_changed(const std::shared_ptr<const order_event>& e) override;
  void availability(const std::string& product_id, int64_t available, int64_t at_ms) override;
  void ticket_changed(const std::string& key, const ticket_view& ticket) override;

 private:
  struct pending_watch {
    std::weak_ptr<ws_session> who;
    std::string topic;         // core
    std::string client_topic;  // as the client named it
    uint32_t remaining = 0;    // owners yet to answer
    std::optional<watch_snapshot> snapshot;
  };
  void answered(pending_watch done, const std::shared_ptr<ws_session>& s);
  void flush_slice();
  // Every session's timeouts; whether any session is left to sweep.
  bool sweep();

  engine& eng_;
  const uint32_t shard_;
  const presentation& pres_;
  metrics& stats_;
  const repl::replication_node* replication_;
  absl::flat_hash_set<ws_session*> sessions_;  // open ones (declared first: destroyed last)
  // Core topic ("orders:<user>", "order:<id>", "product:<id>", "admin:orders") -> sessions
  // whose subscription was answered.
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<ws_session>>> subscribers_;
  absl::flat_hash_map<uint64_t, pending_watch> pending_;
  uint64_t next_ticket_ = 1;
  uint64_t next_event_ = 1;
  // Writing and timing.
  std::optional<boost::asio::any_io_executor> executor_;  // from the first session
  std::vector<std::shared_ptr<ws_session>> dirty_;         // to flush, in the order they asked
  size_t dirty_done_ = 0;                                  // flushed of dirty_ this pass
  bool flush_posted_ = false;
  sweep_timer sweeper_{std::chrono::milliseconds(ws_sweep_period_ms), [this] { return sweep(); }};
  std::array<char, ws_read_chunk_bytes> read_buffer_{};
};

}  // namespace stampede::http
