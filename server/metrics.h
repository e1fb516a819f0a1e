// Prometheus metrics: requests by route and status, a request latency histogram, and, read
// at scrape time, each shard's inbox depth. Counters are relaxed atomics written by every
// shard thread and read by whichever shard serves /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "server/latency_window.h"

namespace stampede {
class engine;
struct store_stats;
}

namespace stampede::http {

class metrics {
 public:
  static constexpr size_t routes_max = 64;
  static constexpr std::array<unsigned, 20> statuses{200, 201, 204, 304, 400, 401, 402, 403, 404,
                                                     405, 409, 410, 413, 415, 422, 429, 431, 500,
                                                     503, 0};
  static constexpr std::array<double, 12> latency_buckets_ms{0.1, 0.25, 0.5, 1,   2.5,  5,
                                                             10,  25,   50,  100, 250, 1000};

  explicit metrics(std::vector<std::string> route_names);
  // Any thread.
  void observe(size_t route, unsigned status, double latency_ms);
  std::string render(engine& eng, const store_stats& store) const;

  // WebSocket gauges and counters (any thread).
  std::atomic<int64_t> ws_connections{0};
  std::atomic<uint64_t> ws_messages_sent{0};
  std::atomic<uint64_t> ws_messages_replaced{0};  // a newer state took an unsent one's place
  std::atomic<uint64_t> ws_messages_dropped{0};   // the oldest unsent, past the queue bound
  // Webhook deliveries (any thread).
  std::atomic<uint64_t> webhook_delivered{0};
  std::atomic<uint64_t> webhook_failed_attempts{0};
  std::atomic<uint64_t> webhook_given_up{0};  // past the retry window
  // The dashboard's live p99s (admin:stats): add to cart and checkout, since the last look.
  latency_window add_to_cart_latency;
  latency_window checkout_latency;
  std::atomic<uint64_t> webhook_breaker_opened{0};  // a receiver's breaker opened

 private:
  static size_t status_slot(unsigned status);
  // render()'s sections.
  void render_http(std::string& out) const;
  void render_store(std::string& out, engine& eng, const store_stats& store) const;
  void render_durability(std::string& out) const;
  void render_shedding_and_delivery(std::string& out, const store_stats& store) const;
  std::vector<std::string> names_;  // index routes_max - 1 counts unmatched requests
  size_t add_to_cart_route_ = routes_max;  // indexes of the routes with a latency window
  size_t checkout_route_ = routes_max;
  std::array<std::array<std::atomic<uint64_t>, statuses.size()>, routes_max> requests_{};
  std::array<std::atomic<uint64_t>, latency_buckets_ms.size() + 1> latency_{};
  std::atomic<uint64_t> latency_sum_us_{0};
};

}  // namespace stampede::http
