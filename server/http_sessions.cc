#include "server/http_sessions.h"

#include "server/http_session.h"
#include "server/transport_limits.h"

namespace stampede::http {

void http_sessions::join(http_session* s) {
  set_.insert(s);
  sweeper_.start(io_.get_executor());
}

// The sessions past their deadline, found first and then timed out: timing one out closes
// its socket, which leaves the set; its handlers, and its end, run later.
bool http_sessions::sweep() {
  auto now = std::chrono::steady_clock::now();
  due_.clear();
  for (http_session* s : set_)
    if (s->past_deadline(now)) due_.push_back(s);
  for (http_session* s : due_) s->time_out();
  return !set_.empty();  // else the next session to join starts it again
}

}  // namespace stampede::http
