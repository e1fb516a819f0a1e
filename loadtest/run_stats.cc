#include "loadtest/run_stats.h"

#include <algorithm>

namespace stampede::load {

run_stats::run_stats(steady::time_point origin)
    : origin_(origin), totals_(steps_max * outcomes_max), due_totals_(steps_max) {}

std::optional<uint16_t> run_stats::find(const std::vector<std::string>& names,
                                        std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<uint16_t>(i);
  return std::nullopt;
}

uint16_t run_stats::intern(std::vector<std::string>& names, std::string_view name, size_t max) {
  if (auto found = find(names, name)) return *found;
  if (names.size() == max) return static_cast<uint16_t>(max - 1);
  names.emplace_back(name);
  return static_cast<uint16_t>(names.size() - 1);
}

uint16_t run_stats::step(std::string_view name) { return intern(step_names_, name, steps_max); }

uint16_t run_stats::outcome(std::string_view name) {
  return intern(outcome_names_, name, outcomes_max);
}

run_stats::second& run_stats::slot(steady::time_point t) {
  auto since = t < origin_ ? steady::duration::zero() : t - origin_;
  auto index = std::min<size_t>(
      static_cast<size_t>(std::chrono::duration_cast<std::chrono::seconds>(since).count()),
      seconds_max - 1);
  while (seconds_.size() <= index) {
    second s;
    s.due.assign(steps_max, 0);
    s.answers.assign(steps_max * outcomes_max, 0);
    s.latency.resize(steps_max);
    seconds_.push_back(std::move(s));
  }
  return seconds_[index];
}

void run_stats::record_due(uint16_t step, steady::time_point due) {
  ++due_totals_[step];
  ++slot(due).due[step];
}

void run_stats::record_answer(uint16_t step, uint16_t outcome, steady::time_point due,
                              steady::time_point answered) {
  auto ns = answered > due
                ? std::chrono::duration_cast<std::chrono::nanoseconds>(answered - due).count()
                : 0;
  auto value = static_cast<uint64_t>(ns);
  totals_[step * outcomes_max + outcome].record(value);
  second& s = slot(answered);
  ++s.answers[step * outcomes_max + outcome];
  s.latency[step].record(value);
}

const latency_histogram& run_stats::total(uint16_t step, uint16_t outcome) const {
  return totals_[step * outcomes_max + outcome];
}

latency_histogram run_stats::step_total(uint16_t step) const {
  latency_histogram h;
  for (size_t o = 0; o < outcome_names_.size(); ++o) h.merge(totals_[step * outcomes_max + o]);
  return h;
}

uint64_t run_stats::due_total(uint16_t step) const { return due_totals_[step]; }

}  // namespace stampede::load
