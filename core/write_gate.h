// Admission control of client writes on one shard (issue 9, "Overload"), by queueing time
// rather than queue depth, after CoDel (Nichols and Jacobson, "Controlling Queue Delay"):
// writes wait in their shard's write queue, and a write that cannot start in time is
// answered `overloaded` at once instead of waiting. A queue that runs empty at least once an
// interval is a good queue (a burst being absorbed): a write may wait up to `interval`. A
// queue that has not been empty for a whole interval is a standing, bad queue: a write may
// wait only `target`. Clients here do not slow down when one request is dropped (CoDel's
// control law assumes TCP senders), so rather than drop one at a time the gate refuses every
// new write while the oldest waiting one has waited longer than allowed; the queue holds
// about `target` of work and the rest is refused cheaply at the door.
// Thread-safety: admit() from any thread; the owner methods only on the owning shard's
// thread (the state they publish is relaxed atomics, read approximately by admit()).
#pragma once

#include <atomic>
#include <cstdint>

#include "core/limits.h"

namespace stampede {

struct write_gate_config {
  // CoDel's target: the wait a standing queue is held to.
  int64_t target_ns = limits::write_wait_target_ms * 1'000'000;
  // CoDel's interval: a good queue's allowance, and the longest any write waits (its
  // deadline).
  int64_t interval_ns = limits::write_wait_interval_ms * 1'000'000;
};

class write_gate {
 public:
  explicit write_gate(write_gate_config config = {}) : config_(config) {}

  // Any thread: may a write for this shard join its queue at now_ns (steady clock)?
  bool admit(int64_t now_ns) const;
  // The instant by which a write admitted at now_ns must start, else it is refused unrun.
  int64_t deadline_ns(int64_t now_ns) const { return now_ns + config_.interval_ns; }
  // Whether the queue has not been empty for a whole interval (the allowance is `target`).
  bool standing(int64_t now_ns) const;

  // Owner: a write enqueued at `enqueued_ns` joined an empty queue (empty until then).
  void filled(int64_t enqueued_ns) {
    last_empty_ns_.store(enqueued_ns, std::memory_order_relaxed);
    head_ns_.store(enqueued_ns, std::memory_order_relaxed);
  }
  // Owner: after a dequeue, the oldest write waiting is one enqueued at `enqueued_ns`.
  void head_is(int64_t enqueued_ns) { head_ns_.store(enqueued_ns, std::memory_order_relaxed); }
  // Owner: a dequeue at now_ns left the queue empty.
  void emptied(int64_t now_ns) {
    last_empty_ns_.store(now_ns, std::memory_order_relaxed);
    head_ns_.store(0, std::memory_order_relaxed);
  }

  const write_gate_config& config() const { return config_; }

 private:
  const write_gate_config config_;
  // 0: the queue is empty. Written by the owner at each dequeue, read by every shard.
  alignas(64) std::atomic<int64_t> head_ns_{0};
  std::atomic<int64_t> last_empty_ns_{0};
};

}  // namespace stampede
