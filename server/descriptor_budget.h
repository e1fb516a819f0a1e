// The process's file descriptors as a budget for connections: the soft limit is raised to
// the hard one at start, and connections may use all but descriptors_reserved of it (the
// rest stays for the write-ahead logs, snapshots and webhook clients). Each accepted socket
// holds a slot until it is closed; a connection past the budget is closed at once.
// Thread-safety: one budget for the process; its slots are taken and returned on any shard
// (a relaxed atomic count).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

namespace stampede::http {

class descriptor_budget {
 public:
  explicit descriptor_budget(size_t connections_max) : max_(connections_max) {}
  // Takes a slot; false when the budget is spent (nothing taken).
  bool take();
  void give_back() { open_.fetch_sub(1, std::memory_order_relaxed); }
  size_t open() const { return open_.load(std::memory_order_relaxed); }
  size_t max() const { return max_; }

 private:
  const size_t max_;
  std::atomic<size_t> open_{0};
};

// One connection's slot: returned when destroyed; moves with the socket (to a WebSocket).
class descriptor_slot {
 public:
  descriptor_slot() = default;
  // Shared: a session can outlive the server that accepted it (a lingering close still
  // pending when the shards' io_contexts are torn down), and its slot with it.
  explicit descriptor_slot(std::shared_ptr<descriptor_budget> b) : budget_(std::move(b)) {}
  descriptor_slot(descriptor_slot&& o) noexcept = default;
  descriptor_slot& operator=(descriptor_slot&& o) noexcept {
    if (this != &o) {
      release();
      budget_ = std::move(o.budget_);
    }
    return *this;
  }
  ~descriptor_slot() { release(); }
  explicit operator bool() const { return budget_ != nullptr; }

 private:
  void release() {
    if (budget_) std::exchange(budget_, nullptr)->give_back();
  }
  std::shared_ptr<descriptor_budget> budget_;
};

// Raises RLIMIT_NOFILE's soft limit to the hard one. Returns the limit now in force, and
// sets `report` to a line for the log saying what was done.
size_t raise_descriptor_limit(std::string& report);
// Connections the budget allows under a descriptor limit.
size_t connections_allowed(size_t descriptor_limit);

}  // namespace stampede::http
