// Delivers each shard's webhook outbox (core/webhook.h): one deliverer per shard, on the
// shard's own io_context, so it reads the outbox and records acknowledgements on the
// shard's thread without a lock. Each event is POSTed (http, or https with the receiver's
// certificate verified for its host) by an asynchronous Beast client
// (resolve, connect and exchange each under a timeout; never blocking the shard) with
// `Stampede-Event-Id` and `Stampede-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
// A 2xx acknowledges it; anything else is retried with exponential backoff and full jitter,
// for limits::webhook_retry_window_ms. Receivers are isolated from one another: each has a
// share of the deliveries in flight and a circuit breaker, so one that hangs or fails
// neither starves the others nor gets hammered. At least once: an event leaves the outbox only once
// acknowledged (or given up on), and the outbox is durable, so a restart delivers again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "core/webhook_outbox.h"
#include "server/json.h"
#include "server/metrics.h"

namespace stampede::http {

inline constexpr size_t webhook_in_flight_max = 64;             // per shard, all receivers
inline constexpr size_t webhook_in_flight_per_receiver_max = 4;  // per shard and receiver
inline constexpr int webhook_timeout_s = 10;  // connect, then the whole exchange
inline constexpr int64_t webhook_backoff_max_ms = 3'600'000;
// A receiver's circuit breaker: this many failed deliveries in a row (errors, timeouts,
// non-2xx) open it; while open nothing is sent to it; then one delivery probes it, and
// success closes it while failure opens it again for twice as long. The first open time is
// this factor times the first retry's delay (8 s with --webhook-retry-ms 1000), doubling,
// jittered, at most webhook_backoff_max_ms.
inline constexpr int webhook_breaker_failures = 5;
inline constexpr int64_t webhook_breaker_open_factor = 8;

// One receiver (a registration) as one shard's deliverer sees it: its deliveries in flight
// and its breaker. Shard-local.
struct receiver_breaker {
  size_t in_flight = 0;
  int failures_in_a_row = 0;
  int trips = 0;               // times opened without a success since: > 0 is open or probing
  int64_t open_until_ms = 0;

  // Whether a delivery may start now: closed and under its share, or a single probe once
  // the open time is over.
  bool may_send(int64_t now_ms) const {
    if (trips > 0) return now_ms >= open_until_ms && in_flight == 0;
    return in_flight < webhook_in_flight_per_receiver_max;
  }
  void started() { ++in_flight; }
  // A delivery ended. Returns true when this failure opened the breaker (for `open_ms`).
  bool ended(bool ok, int64_t now_ms, int64_t open_ms) {
    --in_flight;
    if (ok) {
      failures_in_a_row = 0;
      trips = 0;
      return false;
    }
    ++failures_in_a_row;
    bool probe_failed = trips > 0 && now_ms >= open_until_ms;
    if (!probe_failed && (trips > 0 || failures_in_a_row < webhook_breaker_failures)) return false;
    ++trips;
    open_until_ms = now_ms + open_ms;
    return true;
  }
};

class webhook_deliverer {
 public:
  // `retry_base_ms`: the first retry's delay (doubling each time, jittered). https
  // receivers must present a certificate for their host that the system's CAs, or those in
  // `ca_file` (PEM; "" for none), vouch for.
  webhook_deliverer(boost::asio::io_context& io, webhook_outbox& outbox,
                    const presentation& pres, metrics& m, int64_t retry_base_ms,
                    const std::string& ca_file);
  ~webhook_deliverer();
  // Both post to the shard's thread; stop() waits for nothing (deliveries in flight end
  // with the io_context).
  void start();
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace stampede::http
