#include "loadtest/rehearse/options.h"

#include <cstdlib>

#include "loadtest/flags.h"

namespace stampede::load {

namespace {

// Bounds of what one run may ask for.
constexpr int64_t shoppers_max = 10'000'000;
constexpr int64_t watchers_max = 100'000;
constexpr int64_t connections_max = 100'000;
constexpr double ramp_s_max = 24 * 3600;

std::optional<std::string> set_arrival(rehearse_options& o, const std::string& v) {
  if (v == "burst") {
    o.arrival = v;
    o.ramp_s = 0;
    return std::nullopt;
  }
  if (v.rfind("ramp:", 0) == 0) {
    double n = 0;
    if (auto err = set_number(n, 0.001, ramp_s_max)(v.substr(5)))
      return "ramp:N needs N seconds: " + *err;
    o.arrival = v;
    o.ramp_s = n;
    return std::nullopt;
  }
  return "must be burst or ramp:N (N seconds)";
}

// The server, the product and the shoppers.
std::vector<flag> sale_table(rehearse_options& o) {
  return {
      target_flag(o.target_url),
      jwt_secret_flag(o.jwt_secret),
      {"--gateway-secret", "G",
       "the server's --gateway-secret, to sign PayPal settlements (default "
       "STAMPEDE_GATEWAY_SECRET, else the dev secret)",
       set_text(o.gateway_secret)},
      {"--shoppers", "N", "shoppers who arrive (default 20000)",
       set_integer(o.shoppers, 1, shoppers_max)},
      {"--units", "N", "units on hand of a product made here (default 300)",
       set_integer(o.units, 0, 1'000'000'000)},
      {"--product", "ID",
       "the product on sale; made here if missing, else used as it is (default sale-item)",
       set_text(o.product)},
      {"--opens-in", "S", "seconds from now to the opening of a product made here (default 5)",
       set_number(o.opens_in_s, 0, 86'400)},
      {"--arrival", "SHAPE",
       "burst (everyone at the opening) or ramp:N (spread evenly over N seconds) (default burst)",
       [&o](const std::string& v) { return set_arrival(o, v); }},
      {"--abandon", "P", "share of shoppers who give up on the way (default 0.3)",
       set_number(o.abandon, 0, 1)},
      {"--declined", "P", "share who pay with a declined card first, then retry (default 0.1)",
       set_number(o.declined, 0, 1)},
      {"--paypal", "P",
       "share who pay with PayPal, settled by the signed gateway webhook (default 0.2)",
       set_number(o.paypal, 0, 1)},
      {"--watchers", "N", "WebSocket watchers of the product (default 2000)",
       set_integer(o.watchers, 0, watchers_max)},
  };
}

// The run itself and its outputs.
std::vector<flag> run_table(rehearse_options& o) {
  return {
      {"--duration", "S", "seconds after the opening when the run stops (default 60)",
       set_number(o.duration_s, 0.1, 86'400)},
      {"--connections", "N", "cap on the shoppers' keep-alive connections (default 256)",
       set_integer(o.connections, 1, connections_max)},
      {"--think-ms", "MS", "mean pause between a shopper's steps, exponential (default 0)",
       set_number(o.think_ms, 0, 600'000)},
      {"--max-per-user", "N", "max_per_user of a product made here (default 1; 0: none)",
       set_integer(o.max_per_user, 0, 1'000'000)},
      {"--seed", "N", "seed of the shoppers' choices (default: from the clock; printed)",
       set_integer(o.seed, 1, INT64_MAX)},
      {"--timeout-ms", "MS", "a request unanswered this long has failed (default 10000)",
       set_integer(o.timeout_ms, 10, 600'000)},
      {"--drop", "ID",
       "the queue-mode drop the product is in: shoppers join its queue and add with their "
       "admission (it opens the sale)",
       set_text(o.drop)},
      {"--report", "FILE", "write a self-contained HTML report", set_text(o.report_path)},
      {"--json", "FILE", "write the figures as JSON, for --compare", set_text(o.json_path)},
      {"--compare", "A.json",
       "compare two runs: --compare A.json B.json [--report FILE]; nothing is run",
       [&o](const std::string& v) -> std::optional<std::string> {
         o.compare.push_back(v);
         return std::nullopt;
       }},
      {"--quiet", "", "no progress line", set_switch(o.quiet)},
  };
}

std::vector<flag> table(rehearse_options& o) {
  auto all = sale_table(o);
  for (auto& f : run_table(o)) all.push_back(std::move(f));
  return all;
}

}  // namespace

std::optional<std::string> parse_rehearse_options(const std::vector<std::string>& args,
                                                  rehearse_options& out, bool& help) {
  out.jwt_secret = default_jwt_secret();
  out.gateway_secret = default_gateway_secret();
  auto t = table(out);
  std::vector<std::string> positional;
  if (auto err = parse_flags(t, args, help, &positional)) return err;
  // `--compare A B`: the second file comes as a plain argument.
  if (!out.compare.empty()) {
    for (auto& p : positional) out.compare.push_back(p);
    positional.clear();
    if (out.compare.size() != 2) return "--compare takes exactly two JSON files";
  }
  if (!positional.empty()) return "unexpected argument '" + positional.front() + "'";
  if (out.declined + out.paypal > 1) return "--declined and --paypal add up to more than 1";
  return std::nullopt;
}

std::string rehearse_usage() {
  rehearse_options o;
  return "stampede rehearse: play a sale against a running server, then audit the store\n"
         "  stampede rehearse --target URL --jwt-secret S [flags]\n"
         "  stampede rehearse --compare before.json after.json [--report compare.html]\n"
         "Exit status: 0 the audit passed, 1 it found a violation, 2 the run could not start.\n" +
         flags_usage(table(o));
}

}  // namespace stampede::load
