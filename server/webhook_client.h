// Delivers each shard's webhook outbox (core/webhook.h): one deliverer per shard, on the
// shard's own io_context, so it reads the outbox and records acknowledgements on the
// shard's thread without a lock. Each event is POSTed (http, or https with the receiver's
// certificate verified for its host) by an asynchronous Beast client
// (resolve, connect and exchange each under a timeout; never blocking the shard) with
// `Stampede-Event-Id` and `Stampede-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
// A 2xx acknowledges it; anything else is retried with exponential backoff and full jitter,
// for limits::webhook_retry_window_ms. At least once: an event leaves the outbox only once
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

inline constexpr size_t webhook_in_flight_max = 8;      // per shard
inline constexpr int webhook_timeout_s = 10;            // connect, then the whole exchange
inline constexpr int64_t webhook_backoff_max_ms = 3'600'000;

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
