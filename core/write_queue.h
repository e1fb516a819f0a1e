// One shard's queue of client writes, behind its write_gate (core/write_gate.h): FIFO, each
// write with the instant it joined, its deadline and its client's "gone" flag. The shard
// loop runs writes from the front between its other work, a bounded batch at a time, so
// reads and messages between shards go first. A write that reaches the front past its
// deadline, or whose client has gone away, is not run: it answers `overloaded` and changes
// nothing. Every write that leaves tells the gate how long the queue's oldest has waited.
// Shard-local: only the owning shard's thread; the counters are read from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "core/write_gate.h"

namespace stampede {

struct write_task {
  // Called once: run(true) to do the write, run(false) to answer `overloaded` unrun.
  absl::AnyInvocable<void(bool)> run;
  int64_t enqueued_ns = 0;  // steady clock
  int64_t deadline_ns = 0;  // 0: none
  std::shared_ptr<const std::atomic<bool>> gone;  // set when the client went away; may be null
};

class write_queue {
 public:
  explicit write_queue(write_gate& gate) : gate_(gate) {}

  // Joins the back, or is refused at once when the queue is full.
  void push(write_task t);
  bool empty() const { return tasks_.empty(); }
  size_t size() const { return tasks_.size(); }
  // When the oldest waiting write joined (steady clock); 0 when none waits.
  int64_t front_enqueued_ns() const { return tasks_.empty() ? 0 : tasks_.front().enqueued_ns; }
  // Runs (or refuses) writes from the front until the queue is empty, `count_max` left it,
  // or the steady clock passed `until_ns`. Returns how many left it.
  size_t run_front(size_t count_max, int64_t until_ns);

  // Since start, any thread (relaxed).
  struct counters {
    std::atomic<uint64_t> ran{0};
    std::atomic<uint64_t> late{0};  // refused unrun: past the deadline at the front
    std::atomic<uint64_t> gone{0};  // refused unrun: the client had gone
    std::atomic<uint64_t> full{0};  // refused at once: the queue was full
  };
  const counters& stats() const { return stats_; }

 private:
  write_gate& gate_;
  std::deque<write_task> tasks_;
  counters stats_;
};

// Nanoseconds on the steady clock, as write_task and write_gate count them.
int64_t steady_now_ns();

}  // namespace stampede
