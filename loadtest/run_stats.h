// What a load run saw, per step (a request type: "add", "browse", ...) and outcome ("ok" for
// any 2xx, else an error code such as "out_of_stock", "overloaded" or "no_answer"): a
// latency histogram of the whole run for each pair, and for each second since the origin
// the requests due, the answers by outcome, and a histogram of every answer's latency.
// Per-interval histograms, not sliding windows: a spike shows in its own second only.
// Not thread-safe: owned by the thread that runs the load.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadtest/histogram.h"

namespace stampede::load {

using steady = std::chrono::steady_clock;

class run_stats {
 public:
  // Bounds of the dense tables; a run names a handful of each.
  static constexpr size_t steps_max = 16;
  static constexpr size_t outcomes_max = 48;
  // Seconds kept; answers later than this land in the last second.
  static constexpr size_t seconds_max = 24 * 3600;

  explicit run_stats(steady::time_point origin);

  // Interned names; the same name gives the same id. Past the bound, the last id is shared.
  uint16_t step(std::string_view name);
  uint16_t outcome(std::string_view name);
  // Ids of names already interned.
  std::optional<uint16_t> find_step(std::string_view name) const { return find(step_names_, name); }
  std::optional<uint16_t> find_outcome(std::string_view name) const {
    return find(outcome_names_, name);
  }
  const std::string& step_name(uint16_t id) const { return step_names_[id]; }
  const std::string& outcome_name(uint16_t id) const { return outcome_names_[id]; }
  size_t step_count() const { return step_names_.size(); }
  size_t outcome_count() const { return outcome_names_.size(); }
  steady::time_point origin() const { return origin_; }

  // A request of `step` became due (whether or not it could be sent at once).
  void record_due(uint16_t step, steady::time_point due);
  // Its answer (or the lack of one) came at `answered`; latency counts from `due`.
  void record_answer(uint16_t step, uint16_t outcome, steady::time_point due,
                     steady::time_point answered);

  // The whole run.
  const latency_histogram& total(uint16_t step, uint16_t outcome) const;
  latency_histogram step_total(uint16_t step) const;  // every outcome
  uint64_t due_total(uint16_t step) const;

  struct second {
    std::vector<uint64_t> due;               // [step]
    std::vector<uint64_t> answers;           // [step * outcomes_max + outcome]
    std::vector<latency_histogram> latency;  // [step], every answer
  };
  // Seconds since the origin that saw anything, in order; index = second number.
  const std::vector<second>& seconds() const { return seconds_; }

 private:
  second& slot(steady::time_point t);
  static std::optional<uint16_t> find(const std::vector<std::string>& names, std::string_view name);
  static uint16_t intern(std::vector<std::string>& names, std::string_view name, size_t max);

  steady::time_point origin_;
  std::vector<std::string> step_names_;
  std::vector<std::string> outcome_names_;
  std::vector<latency_histogram> totals_;  // [step * outcomes_max + outcome]
  std::vector<uint64_t> due_totals_;       // [step]
  std::vector<second> seconds_;
};

// Milliseconds, for reports.
inline double to_ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace stampede::load
