// The open HTTP sessions of one shard, and their timeouts, kept with one timer (as ws_hub
// keeps the WebSockets'): a session notes the instant by which its read or write must end,
// and a sweep every http_sweep_period_ms times out those past it. With a timer per operation
// instead (a Beast stream's, armed and cancelled at each read and write, and a keep-alive
// timer), the door answered 16-24% less a second with 8,192 busy connections than with none
// (BENCHMARKS.md, "The door's timers").
// Shard-local: only the owning shard's thread calls it.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/container/flat_hash_set.h"
#include "server/sweep_timer.h"
#include "server/transport_limits.h"

namespace stampede::http {

class http_session;

class http_sessions {
 public:
  explicit http_sessions(boost::asio::io_context& io) : io_(io) {}

  void join(http_session* s);
  void leave(http_session* s) { set_.erase(s); }
  // A copy: a session that closes leaves the set.
  std::vector<http_session*> all() const { return {set_.begin(), set_.end()}; }

 private:
  // Times out the sessions past their deadline; whether any session is left to sweep.
  bool sweep();

  boost::asio::io_context& io_;
  absl::flat_hash_set<http_session*> set_;
  std::vector<http_session*> due_;  // the sweep's, kept for its capacity
  sweep_timer sweeper_{std::chrono::milliseconds(http_sweep_period_ms), [this] { return sweep(); }};
};

}  // namespace stampede::http
