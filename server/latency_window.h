// The latencies of one route since the last look, for the dashboard's live p99s (admin:stats):
// log-spaced buckets (10% apart, 10 us to about 100 s) of relaxed atomic counts. Any shard
// thread records (one increment); one reader (the stats publisher) takes the window once a
// second, which empties it. Counts that land during a take go to that take or the next: close
// enough for a figure drawn once a second.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace stampede::http {

class latency_window {
 public:
  static constexpr double first_bound_ms = 0.01;
  static constexpr double bucket_growth = 1.1;  // a p99 is reported within 10%
  static constexpr size_t buckets = 170;         // the last bound is about 100 s; past it: the last

  // Any thread.
  void record(double latency_ms);
  // One reader: the p99 of what was recorded since the last take (the upper bound of its
  // bucket), in milliseconds, and how many were; 0 and 0 when nothing was.
  struct taken {
    double p99_ms = 0;
    uint64_t count = 0;
  };
  taken take();

  static double upper_bound_ms(size_t bucket);

 private:
  std::array<std::atomic<uint64_t>, buckets> counts_{};
};

}  // namespace stampede::http
