// What one rehearsal found, as plain values: the figures API.md's --json shape fixes
// (config, steps, sold_out_at_s, audit) plus what the summary and the report draw (shoppers,
// WebSocket delivery, per-second series). The summary, the JSON file, the HTML report and
// --compare all read this one model; a JSON file reads back into it. Pure values.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stampede::load {

struct step_summary {
  std::string name;
  uint64_t count = 0;                      // requests sent (retries included)
  uint64_t ok = 0;                         // 2xx answers
  std::map<std::string, uint64_t> errors;  // by error code, or why there was no answer
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;  // every answer
};

struct violation {
  std::string
      kind;  // missing_order, oversold, stock_not_conserved, limit_exceeded, payments, watchers
  std::string detail;
};

struct audit_result {
  // This run's orders (its shoppers' users) holding the product, any status.
  uint64_t orders = 0;
  uint64_t other_orders = 0;  // orders of the product that are not this run's
  uint64_t units_sold = 0;    // units of the product in orders that are not canceled
  uint64_t paid_orders = 0, paid_units = 0;
  std::vector<violation> violations;
  std::vector<std::string> notes;  // what could not be checked, and why
  bool complete = true;            // false: the store could not be read (the run exits 1)
};

// A drop's queue as the shoppers saw it (tickets are the server's; see GET /v1/admin/drops).
struct queue_summary {
  std::string drop;
  uint64_t joined = 0;    // join answers 2xx (one ticket a shopper)
  uint64_t admitted = 0;  // tickets seen admitted
  uint64_t sold_out = 0;  // tickets seen sold out, and joins refused 410 sold_out
  uint64_t expired = 0;   // tickets seen expired
  uint64_t polled = 0;    // shoppers who waited by polling (no descriptor for a WebSocket)
  std::optional<double> sold_out_at_s;  // since the opening: the first ticket seen sold out
  // From the join's answer to the admission, over the admitted shoppers only.
  double wait_p50_ms = 0, wait_p90_ms = 0, wait_p99_ms = 0, wait_max_ms = 0;
};

struct stock_sample {
  double t_s = 0;  // since the opening
  int64_t on_hand = 0, reserved = 0, committed = 0, available = 0;
};

// One value a second; index 0 is the second starting at `start_s` (since the opening).
struct run_series {
  double start_s = 0;
  std::vector<std::string> steps;
  std::vector<std::vector<double>> requests;                 // [step][second]
  std::map<std::string, std::vector<double>> answers;        // outcome -> [second]
  std::vector<std::vector<std::vector<double>>> latency_ms;  // [step][p50,p90,p99,max][second]
  std::vector<stock_sample> stock;                           // as sampled
  std::vector<std::pair<double, int64_t>> pushed;            // WebSocket availability, by `at`
  std::vector<std::vector<double>> ws_delay_ms;              // [p50,p99,max][second]
};

struct run_result {
  boost::json::object config;
  std::string product;
  int64_t units = 0;      // on hand at the opening
  std::string opened_at;  // RFC 3339
  double duration_s = 0;  // from the opening to the last answer
  std::vector<step_summary> steps;
  std::optional<double> sold_out_at_s;  // since the opening
  audit_result audit;
  uint64_t shoppers = 0, converted = 0, abandoned = 0, turned_away = 0, unfinished = 0;
  uint64_t sold_out = 0;               // shoppers whose wait in the queue ended in sold out
  std::optional<queue_summary> queue;  // with a drop
  uint64_t retries_rate_limited = 0, retries_overloaded = 0;
  // Connected: following the product at the end. Reconnections: connections that dropped
  // and subscribed again. Lost: followed, dropped, and not back at the end.
  uint64_t watchers = 0, watchers_connected = 0, ws_messages = 0;
  uint64_t watchers_reconnections = 0, watchers_lost = 0;
  double ws_p50_ms = 0, ws_p99_ms = 0, ws_max_ms = 0;
  // The generator: CPU it used, and how late its loop ran (a late loop sends late, and its
  // own delay is then in every figure).
  double generator_cpu_s = 0, generator_lag_p99_ms = 0, generator_lag_max_ms = 0;
  run_series series;

  double conversion() const {
    return shoppers ? static_cast<double>(converted) / static_cast<double>(shoppers) : 0;
  }
};

// The percentiles a step reports, in the order of run_series::latency_ms.
inline constexpr double series_quantiles[] = {0.5, 0.9, 0.99, 1.0};
inline constexpr const char* series_quantile_names[] = {"p50", "p90", "p99", "max"};

boost::json::object to_json(const run_result& r);
// Reads a file written by to_json; nullopt with `error` set when it is not one.
std::optional<run_result> read_result(const std::string& path, std::string& error);
bool write_result(const run_result& r, const std::string& path);

}  // namespace stampede::load
