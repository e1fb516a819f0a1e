// From what a rehearsal recorded to its result, and the result in the terminal: the summary
// at the end of a run (per step count, successes, errors by code, p50/p90/p99/p99.9/max; the
// sold-out instant; units sold; conversion; then one `VIOLATION <kind>: <detail>` line per
// violation), and two runs side by side for --compare. The caller's thread.
#pragma once

#include <cstdio>
#include <string>

#include "loadtest/rehearse/options.h"
#include "loadtest/rehearse/result.h"
#include "loadtest/rehearse/sale.h"
#include "loadtest/rehearse/setup.h"

namespace stampede::load {

run_result make_result(const rehearse_options& o, const sale_setup& setup, const sale& run,
                       audit_result audit);
void print_summary(const run_result& r, std::FILE* out);
void print_comparison(const run_result& a, const run_result& b, const std::string& a_name,
                      const std::string& b_name, std::FILE* out);

// A generator whose loop ran later than this (p99) was saturated: the summary says so.
inline constexpr double generator_lag_warn_ms = 10;

// A value missing from a per-second series (no sample that second).
inline constexpr double no_sample = -1;

}  // namespace stampede::load
