// The overload tool's figures, made from what one run recorded: goodput, shed answers and
// their latency, served and read latency, unanswered requests, and the time from the stop
// until latency is normal again; printed, and written as JSON. Pure functions of their
// inputs, called from the run's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loadtest/histogram.h"
#include "loadtest/http_pool.h"
#include "loadtest/run_stats.h"

namespace stampede::load {

// The run_stats step under which the requests the client's own throttle refused are counted
// (due, never sent, never answered).
inline constexpr const char* throttled_step_name = "throttled_here";

// Normal latency is at least this (a quiet loopback server answers in well under it).
constexpr double normal_floor_ms = 5;

// A probe or read due after the load stopped.
struct recovery_sample {
  steady::duration due_after_stop;
  std::chrono::nanoseconds latency;
  bool ok;  // a 2xx answer
};

struct run_shape {
  double rate_per_s = 0, seconds = 0, before_s = 0, after_s = 0;
  double normal_ms = 0;  // 0: from the probes before the load
  std::string request;   // the load's step name
};

struct overload_figures {
  run_shape shape;
  uint64_t requests = 0;  // load requests due
  uint64_t ok = 0, other = 0, unanswered = 0;
  uint64_t throttled = 0;  // refused by the client itself (--client-throttle), never sent
  uint64_t ok_during_load = 0;  // 2xx answers that came while the load ran
  std::map<std::string, uint64_t> other_by_outcome, unanswered_by_failure;
  latency_histogram served, shed, reads, baseline;  // reads: those due during the load
  // The same answers from when each request was written here, not when it was due: the
  // server's part of the latency, without the wait for a free connection here.
  latency_histogram served_from_sent, shed_from_sent;
  double goodput_per_s = 0;                         // ok_during_load / the load's seconds
  double normal_ms = 0;
  std::optional<double> recovery_s;  // nullopt: still slow at the end
  struct second_row {
    double t_s;  // since the load started
    uint64_t due, ok, shed, other, unanswered, throttled;
    double p99_ms, read_p99_ms;
  };
  std::vector<second_row> per_second;
  // The generator: CPU it used, and how late its loop ran (late: it sent late).
  double generator_cpu_s = 0;
  latency_histogram generator_lag;
};

overload_figures summarize(const run_stats& stats, const run_shape& shape,
                           std::vector<recovery_sample> after, uint64_t ok_during_load);
void print_progress(const run_stats& stats, steady::time_point now, steady::time_point load_start,
                    const http_pool& load);
void print_figures(const overload_figures& f);
bool write_json(const overload_figures& f, const std::string& path);

}  // namespace stampede::load
