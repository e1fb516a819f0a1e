// The shoppers of a rehearsal and their journeys: each arrives on the open model (at the
// opening, or spread over a ramp) and walks browse -> [queue -> admission] -> add -> address
// -> preview -> order -> pay [-> webhook], giving up on the way as the options say. In a
// drop's queue a shopper waits for admission on the WebSocket (queue:{drop}), or polls its
// ticket once a second when the tool has no descriptor left for one more socket. Every
// request is recorded in the run's statistics from when it was due; 429 and 503 are retried
// after their Retry-After with the same Idempotency-Key. The orders the server acknowledged
// go into a ledger for the audit. Single-threaded: everything runs on the run's io_context.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "loadtest/http_pool.h"
#include "loadtest/rehearse/options.h"
#include "loadtest/rehearse/setup.h"
#include "loadtest/run_stats.h"
#include "loadtest/schedule.h"

namespace stampede::load {

// An order the server acknowledged (201), as the shopper last knew it.
struct acknowledged_order {
  enum class expect : uint8_t { pending, paid, unknown };
  std::string id, user;
  std::vector<std::pair<std::string, int64_t>> lines;  // product, quantity
  expect status = expect::pending;
};

enum class journey_step : uint8_t {
  browse,
  queue,
  admission,
  add,
  address,
  preview,
  order,
  pay,
  webhook,
  ticket  // GET /v1/drops/{id}/queue/me, by a shopper waiting without a WebSocket
};
inline constexpr int journey_step_count = 10;
const char* step_name(journey_step s);

struct journey_counts {
  uint64_t arrived = 0, converted = 0, abandoned = 0, turned_away = 0, gave_up = 0, cut = 0;
  uint64_t sold_out = 0;  // the drop sold out while they queued (or before they could join)
  uint64_t retries_rate_limited = 0, retries_overloaded = 0;
  uint64_t queue_polled = 0;  // shoppers who waited by polling, not on a WebSocket
  std::optional<steady::time_point> queue_sold_out_at;  // the first ticket seen sold out
  uint64_t ended() const { return converted + abandoned + turned_away + gave_up + cut + sold_out; }
};

class journeys {
 public:
  // A step is tried at most this often (retries after 429, 503 or no answer).
  static constexpr int attempts_max = 10;
  // Waits before retrying a request that got no answer: doubling from the first, up to the last.
  static constexpr std::chrono::milliseconds retry_first{100}, retry_most{2000};
  // Honouring Retry-After, a retry waits up to this much longer (so a herd spreads out).
  static constexpr std::chrono::milliseconds retry_jitter_most{500};
  // A shopper without a WebSocket reads its ticket this often (API.md: the ticket says at
  // most once a second what changed).
  static constexpr std::chrono::milliseconds ticket_poll_interval{1000};
  // Descriptors kept free of queue WebSockets, for the shoppers' and watchers' others.
  static constexpr size_t descriptors_spare = 512;

  journeys(asio::io_context& io, const rehearse_options& o, const sale_setup& s, http_pool& shop,
           http_pool& gateway, scheduler& sched, run_stats& stats, steady::time_point opening);
  ~journeys();
  journeys(const journeys&) = delete;
  journeys& operator=(const journeys&) = delete;

  void start();           // schedules every arrival
  void stop();            // the deadline: journeys in flight end at their next step
  bool finished() const;  // every shopper's journey has ended
  const journey_counts& counts() const { return counts_; }
  const std::vector<acknowledged_order>& ledger() const { return ledger_; }

 private:
  struct shopper;
  enum class ending : uint8_t { converted, abandoned, turned_away, gave_up, cut, sold_out };

  void mint(size_t count);
  void begin(shopper& s, journey_step st, steady::time_point due);
  void send(shopper& s, journey_step st, steady::time_point due);
  http_request request_for(shopper& s, journey_step st);
  void on_answer(shopper& s, journey_step st, http_answer&& a);
  void on_success(shopper& s, journey_step st, const http_answer& a);
  void on_refusal(shopper& s, journey_step st, const http_answer& a, const std::string& code);
  void after_add(shopper& s, steady::time_point now);
  void after_order(shopper& s, const std::string& body, steady::time_point now);
  void after_payment(shopper& s, const std::string& body, steady::time_point now);
  void retry(shopper& s, journey_step st, steady::time_point at);
  void next(shopper& s, journey_step st, steady::time_point answered);
  void wait_for_admission(shopper& s);
  void poll_ticket(shopper& s, steady::time_point at);
  void on_ticket(shopper& s, const std::string& text, steady::time_point now);
  void admission_settled(shopper& s, const std::string& state, std::string admission_token,
                         steady::time_point now);
  void cut_off(shopper& s);
  void queue_sold_out(shopper& s, steady::time_point now);
  void end(shopper& s, ending e);
  steady::duration think();

  asio::io_context& io_;
  const rehearse_options& o_;
  const sale_setup& setup_;
  http_pool& shop_;
  http_pool& gateway_;
  scheduler& sched_;
  run_stats& stats_;
  steady::time_point opening_;
  std::mt19937_64 rng_;
  std::vector<shopper> shoppers_;
  std::vector<acknowledged_order> ledger_;
  absl::flat_hash_map<std::string, size_t> ledger_index_;  // order id -> ledger_
  uint16_t step_ids_[journey_step_count];
  journey_counts counts_;
  size_t queue_sockets_ = 0, queue_sockets_max_ = 0;  // open queue WebSockets, their budget
  bool stopped_ = false;
};

}  // namespace stampede::load
