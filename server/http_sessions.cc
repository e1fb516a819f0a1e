#include "server/http_sessions.h"

#include "server/http_session.h"
#include "server/transport_limits.h"

namespace stampede::http {

void http_sessions::join(http_session* s) {
  set_.insert(s);
  if (!armed_) arm();
}

void http_sessions::arm() {
  if (!timer_) timer_.emplace(io_);
  armed_ = true;
  timer_->expires_after(std::chrono::milliseconds(http_sweep_period_ms));
  timer_->async_wait([this](const boost::system::error_code& ec) {
    armed_ = false;
    if (ec) return;
    sweep();
  });
}

// The sessions past their deadline, found first and then timed out: timing one out closes
// its socket, which leaves the set; its handlers, and its end, run later.
void http_sessions::sweep() {
  auto now = std::chrono::steady_clock::now();
  due_.clear();
  for (http_session* s : set_)
    if (s->past_deadline(now)) due_.push_back(s);
  for (http_session* s : due_) s->time_out();
  if (!set_.empty()) arm();  // the next session to join starts it again
}

}  // namespace stampede::http
