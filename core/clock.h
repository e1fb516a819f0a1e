// The engine's only source of wall-clock time, so tests move time instead of sleeping.
// Thread-safety: now_ms() may be called from any thread; manual_clock::advance too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace stampede {

class clock {
 public:
  virtual ~clock() = default;
  // Milliseconds since the Unix epoch, UTC.
  virtual int64_t now_ms() const = 0;
};

class system_clock final : public clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to. Starts at a fixed, readable instant.
class manual_clock final : public clock {
 public:
  static constexpr int64_t default_start_ms = 1'795'000'000'000;  // 2026-11-18T11:06:40Z

  explicit manual_clock(int64_t start_ms = default_start_ms) : now_ms_(start_ms) {}
  int64_t now_ms() const override { return now_ms_.load(std::memory_order_acquire); }
  void advance_ms(int64_t delta_ms) { now_ms_.fetch_add(delta_ms, std::memory_order_acq_rel); }
  void set_ms(int64_t t_ms) { now_ms_.store(t_ms, std::memory_order_release); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace stampede
