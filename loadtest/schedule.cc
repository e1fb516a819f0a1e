#include "loadtest/schedule.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>

namespace stampede::load {

bool scheduler::later(const entry& a, const entry& b) {
  return a.due != b.due ? a.due > b.due : a.sequence > b.sequence;
}

void scheduler::at(steady::time_point due, action a) {
  heap_.push_back(entry{due, sequence_++, std::move(a)});
  std::push_heap(heap_.begin(), heap_.end(), later);
  if (due < armed_for_) arm();
}

void scheduler::clear() {
  heap_.clear();
  armed_for_ = steady::time_point::max();
  timer_.cancel();
}

// One wait in flight, for the earliest action; re-arming cancels the previous wait.
void scheduler::arm() {
  if (heap_.empty()) return;
  armed_for_ = heap_.front().due;
  timer_.expires_at(armed_for_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer();
  });
}

void scheduler::on_timer() {
  armed_for_ = steady::time_point::max();
  auto now = steady::now();
  for (size_t ran = 0; ran < actions_per_wake_max && !heap_.empty() && heap_.front().due <= now;
       ++ran) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    entry e = std::move(heap_.back());
    heap_.pop_back();
    e.run(e.due);  // may schedule more, earlier ones included
    now = steady::now();
  }
  if (!heap_.empty() && heap_.front().due < armed_for_) arm();
}

pacer::pacer(asio::io_context& io, steady::time_point start, double rate_per_s, uint64_t count,
             emit e)
    : timer_(io), start_(start), rate_per_s_(rate_per_s), count_(count), emit_(std::move(e)) {}

steady::time_point pacer::due_of(uint64_t index) const {
  auto offset = std::chrono::duration<double>(static_cast<double>(index) / rate_per_s_);
  return start_ + std::chrono::duration_cast<steady::duration>(offset);
}

void pacer::begin() { arm(); }

void pacer::stop() {
  stopped_ = true;
  timer_.cancel();
}

void pacer::arm() {
  if (done()) return;
  timer_.expires_at(std::max(due_of(next_), steady::now() + wake_period_min));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    // Everything due by now goes out in this wake-up, each stamped with its own instant.
    auto now = steady::now();
    for (size_t sent = 0; sent < emits_per_wake_max && next_ < count_ && !stopped_; ++sent) {
      auto due = due_of(next_);
      if (due > now) break;
      emit_(next_++, due);
    }
    arm();
  });
}

void loop_lag::start() { arm(steady::now() + period); }

void loop_lag::stop() {
  stopped_ = true;
  timer_.cancel();
}

void loop_lag::arm(steady::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([this, at](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    auto now = steady::now();
    lateness_.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - at).count()));
    arm(now + period);
  });
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace stampede::load
