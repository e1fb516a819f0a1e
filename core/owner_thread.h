// Which thread owns a shard's state: the shard's loop thread while run() runs; before and
// after (construction, recovery's replay, shutdown) the one thread that sets it up or
// tears it down. Shard-local methods STAMPEDE_DCHECK(owner.is_current()) on entry, so a
// call from the wrong thread fails the test suite instead of racing.
// Thread-safety: bind()/unbind() on the loop thread; is_current() from any thread.
#pragma once

#include <atomic>
#include <thread>

namespace stampede {

class owner_thread {
 public:
  void bind() { id_.store(std::this_thread::get_id(), std::memory_order_release); }
  void unbind() { id_.store(std::thread::id(), std::memory_order_release); }
  bool is_current() const {
    std::thread::id owner = id_.load(std::memory_order_acquire);
    return owner == std::thread::id() || owner == std::this_thread::get_id();
  }

 private:
  std::atomic<std::thread::id> id_{};  // default: not running, whoever holds the shard
};

}  // namespace stampede
