// Time on the open model: actions run at the instants they are due, whatever happened to
// earlier ones. `scheduler` keeps a heap of single actions behind one timer (a shopper's
// next step, a retry after Retry-After); `pacer` issues request i of a fixed-rate stream at
// start + i / rate without holding them all. Each action is told the instant it was due, so
// a late wake-up does not shorten the latency it measures. Single-threaded: calls and
// actions run on the thread that runs the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "loadtest/histogram.h"

namespace stampede::load {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

class scheduler {
 public:
  using action = absl::AnyInvocable<void(steady::time_point due)>;
  // At most this many actions a wake-up: a burst of thousands due at one instant runs in
  // slices, with the loop's I/O in between (each still told the instant it was due).
  static constexpr size_t actions_per_wake_max = 256;

  explicit scheduler(asio::io_context& io) : timer_(io) {}
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void at(steady::time_point due, action a);
  // Drops every action not yet run.
  void clear();
  size_t size() const { return heap_.size(); }

 private:
  struct entry {
    steady::time_point due;
    uint64_t sequence;  // equal instants run in the order they were given
    action run;
  };
  static bool later(const entry& a, const entry& b);
  void arm();
  void on_timer();

  asio::steady_timer timer_;
  std::vector<entry> heap_;
  uint64_t sequence_ = 0;
  steady::time_point armed_for_ = steady::time_point::max();
};

class pacer {
 public:
  using emit = absl::AnyInvocable<void(uint64_t index, steady::time_point due)>;
  // Wake-ups come at most this often: above 10,000 a second, requests go out in small
  // batches, each up to this late (its latency still counts from its own due instant),
  // rather than a timer set and fired for every one.
  static constexpr std::chrono::microseconds wake_period_min{100};
  // At most this many requests a wake-up, as the scheduler's slices.
  static constexpr size_t emits_per_wake_max = 256;

  // Calls `e` for index 0..count-1, each at start + index / rate_per_s.
  pacer(asio::io_context& io, steady::time_point start, double rate_per_s, uint64_t count, emit e);
  pacer(const pacer&) = delete;
  pacer& operator=(const pacer&) = delete;

  void begin();
  void stop();
  bool done() const { return next_ >= count_ || stopped_; }
  uint64_t issued() const { return next_; }

 private:
  steady::time_point due_of(uint64_t index) const;
  void arm();

  asio::steady_timer timer_;
  steady::time_point start_;
  double rate_per_s_;
  uint64_t count_;
  emit emit_;
  uint64_t next_ = 0;
  bool stopped_ = false;
};

// How late the loop runs: a timer every period, each firing's lateness recorded. A loop
// that runs late cannot send on time; then the generator, not the server, is in the figures.
class loop_lag {
 public:
  static constexpr std::chrono::milliseconds period{10};

  explicit loop_lag(asio::io_context& io) : timer_(io) {}
  loop_lag(const loop_lag&) = delete;
  loop_lag& operator=(const loop_lag&) = delete;

  void start();
  void stop();
  const latency_histogram& lateness() const { return lateness_; }

 private:
  void arm(steady::time_point at);

  asio::steady_timer timer_;
  latency_histogram lateness_;
  bool stopped_ = false;
};

// CPU seconds this process has used (user and system).
double process_cpu_s();

}  // namespace stampede::load
