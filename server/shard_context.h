// One shard's share of the server (Beast chat-multi's `shared_state`): its io_context, its
// routes, its WebSocket hub, its webhook deliverer, the settings, the count of its HTTP
// connections and whether it still accepts. The listener and the sessions of this shard
// share it, so none of them reaches into another. Shard-local: only the owning shard's
// thread touches it, except `connections`, which the main thread reads while draining.
#pragma once

#include <atomic>
#include <cstddef>

#include <boost/asio/io_context.hpp>

#include "core/engine.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/routes.h"
#include "server/webhook_client.h"
#include "server/ws_hub.h"

namespace stampede::http {

struct shard_context {
  shard_context(engine& eng, const server_settings& settings, metrics& m, uint32_t shard)
      : io(eng.io(shard)),
        settings(settings),
        routes(eng, settings, io.get_executor(), m),
        hub(eng, shard, settings.pres, m),
        webhooks(io, eng.webhook_outbox_at(shard), settings.pres, m, settings.webhook_retry_ms,
                 settings.webhook_ca_file) {}

  boost::asio::io_context& io;
  const server_settings& settings;
  api routes;
  ws_hub hub;
  webhook_deliverer webhooks;
  std::atomic<size_t> connections{0};  // open HTTP sessions (not WebSockets)
  bool accepting = true;               // false once draining: sessions close after their answer
};

}  // namespace stampede::http
