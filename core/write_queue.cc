#include "core/write_queue.h"

#include <chrono>

namespace stampede {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void write_queue::push(write_task t) {
  if (tasks_.size() >= limits::write_queue_max) {
    stats_.full.fetch_add(1, std::memory_order_relaxed);
    return t.run(false);
  }
  if (tasks_.empty()) gate_.filled(t.enqueued_ns);
  tasks_.push_back(std::move(t));
}

size_t write_queue::run_front(size_t count_max, int64_t until_ns) {
  size_t n = 0;
  while (!tasks_.empty() && n < count_max) {
    int64_t now = steady_now_ns();
    if (n > 0 && now > until_ns) break;
    write_task t = std::move(tasks_.front());
    tasks_.pop_front();
    ++n;
    if (tasks_.empty()) {
      gate_.emptied(now);
    } else {
      gate_.head_is(tasks_.front().enqueued_ns);
    }
    if (t.gone && t.gone->load(std::memory_order_relaxed)) {
      stats_.gone.fetch_add(1, std::memory_order_relaxed);
      t.run(false);
    } else if (t.deadline_ns != 0 && now > t.deadline_ns) {
      stats_.late.fetch_add(1, std::memory_order_relaxed);
      t.run(false);
    } else {
      stats_.ran.fetch_add(1, std::memory_order_relaxed);
      t.run(true);
    }
  }
  return n;
}

}  // namespace stampede
