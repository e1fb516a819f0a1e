// A timer that runs a sweep once a period while there is something to sweep: the sweeps of
// a shard's sessions' timeouts (server/http_sessions.h, server/ws_hub.h), one timer for all
// of them instead of one per operation. start() arms it unless it is armed; the sweep
// returns whether to go on. Shard-local: only the owning shard's thread calls it.
#pragma once

#include <chrono>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/functional/any_invocable.h"

namespace stampede::http {

class sweep_timer {
 public:
  sweep_timer(std::chrono::milliseconds period, absl::AnyInvocable<bool()> sweep)
      : period_(period), sweep_(std::move(sweep)) {}

  // The timer is made on the first call, on `ex` (the shard's io_context).
  void start(const boost::asio::any_io_executor& ex) {
    if (!timer_) timer_.emplace(ex);
    if (!armed_) arm();
  }

 private:
  void arm() {
    armed_ = true;
    timer_->expires_after(period_);
    timer_->async_wait([this](const boost::system::error_code& ec) {
      armed_ = false;
      if (!ec && sweep_()) arm();
    });
  }

  const std::chrono::milliseconds period_;
  absl::AnyInvocable<bool()> sweep_;
  std::optional<boost::asio::steady_timer> timer_;
  bool armed_ = false;
};

}  // namespace stampede::http
