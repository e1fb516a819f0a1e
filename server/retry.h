// What the outboxes' retry loop (outbox_scanner.h, for webhook_client.h and
// email/deliverer.h) and the stats publisher's clock use: wall-clock time, and the delay
// before the next attempt. Pure functions: any thread (each caller owns its generator).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace stampede::http {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Exponential backoff with full jitter after `failures` failed attempts (1 or more):
// base_ms doubling each time, at most max_ms, then uniform in [delay/2, delay].
inline int64_t backoff_ms(int64_t base_ms, int failures, int64_t max_ms, std::mt19937_64& rng) {
  int64_t delay = base_ms;
  for (int i = 1; i < failures && delay < max_ms; ++i) delay *= 2;
  delay = std::min(delay, max_ms);
  return delay / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 2 + 1));
}

}  // namespace stampede::http
