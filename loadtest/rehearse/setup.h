// Before a rehearsal: the target answers, the admin token is accepted, the product exists
// (made here with --units and sale_starts_at = now + --opens-in, or used as it is) and its
// sale_starts_at (or its drop's opens_at, if later) is the opening instant. Blocking, on the
// caller's thread, before the run's io_context starts; every request obeys --timeout-ms. A
// failure here exits 2.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loadtest/http_pool.h"
#include "loadtest/rehearse/options.h"

namespace stampede::load {

// Tokens minted for a run outlive it.
inline constexpr int64_t rehearsal_token_ttl_s = 6 * 3600;

struct sale_setup {
  target t;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::string product;
  int64_t units = 0;  // on hand when the run starts
  int64_t max_per_user = 0;
  int64_t opening_unix_ms = 0;
  bool created = false;  // the product was made by this run
  std::string drop;      // the drop whose queue shoppers join; empty when none
  std::string admin_token;
  // For the setup's and the audit's requests too (--timeout-ms).
  std::chrono::milliseconds timeout{10'000};
  // This run's shoppers are users "reh-<run_id>-<n>": their orders are this run's.
  std::string run_id;
  std::string user_prefix() const { return "reh-" + run_id + "-"; }
};

int64_t unix_now_ms();

// Returns the reason the run cannot start, or nullopt with `out` filled.
std::optional<std::string> prepare_sale(const rehearse_options& o, sale_setup& out);

}  // namespace stampede::load
