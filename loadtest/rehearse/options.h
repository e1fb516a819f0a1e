// The command line of `stampede rehearse` (API.md, "Rehearsal"): the flags as one table, from
// which parsing and --help are made, and the checks that make a run unable to start (exit 2).
// Pure values; the thread that parses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stampede::load {

struct rehearse_options {
  std::string target_url = "http://127.0.0.1:8080";
  std::string jwt_secret;
  std::string gateway_secret;
  int64_t shoppers = 20'000;
  int64_t units = 300;
  std::string product = "sale-item";
  double opens_in_s = 5;
  std::string arrival = "burst";  // burst | ramp:N
  double ramp_s = 0;              // N of ramp:N; 0 for a burst
  double abandon = 0.3;
  double declined = 0.1;  // share who pay with a declined card first
  double paypal = 0.2;    // share who pay with PayPal, settled by the gateway's webhook
  int64_t watchers = 2'000;
  double duration_s = 60;
  int64_t connections = 256;
  double think_ms = 0;       // mean think time between a shopper's steps (exponential)
  int64_t max_per_user = 1;  // for a product made here
  int64_t seed = 0;          // 0: from the clock
  int64_t timeout_ms = 10'000;
  std::string drop;  // a drop to queue in; found from the product when not given
  std::string report_path;
  std::string json_path;
  std::vector<std::string> compare;  // two JSON files: compare instead of running
  bool quiet = false;                // no progress line
};

// Parses args (after the subcommand). Returns an error (the run cannot start) or nullopt;
// `help` is set for --help.
std::optional<std::string> parse_rehearse_options(const std::vector<std::string>& args,
                                                  rehearse_options& out, bool& help);
std::string rehearse_usage();

}  // namespace stampede::load
