// One shard's share of the server (Beast chat-multi's `shared_state`): its io_context, its
// routes, its WebSocket hub, its webhook deliverer, the settings, the count of its HTTP
// connections and whether it still accepts. The listener and the sessions of this shard
// share it, so none of them reaches into another. Shard-local: only the owning shard's
// thread touches it, except `connections`, which the main thread reads while draining, and
// the process-wide descriptor budget.
#pragma once

#include <atomic>
#include <cstddef>

#include <boost/asio/io_context.hpp>

#include "core/engine.h"
#include "server/email/deliverer.h"
#include "server/descriptor_budget.h"
#include "server/http_sessions.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/routes.h"
#include "server/webhook_client.h"
#include "server/ws_hub.h"

namespace stampede::http {

class http_session;

struct shard_context {
  shard_context(engine& eng, const server_settings& settings, metrics& m, uint32_t shard,
                std::shared_ptr<descriptor_budget> descriptors)
      : io(eng.io(shard)),
        settings(settings),
        descriptors(std::move(descriptors)),
        routes(eng, settings, io.get_executor(), m, shard),
        sessions(io),
        hub(eng, shard, settings.pres, m, settings.replication),
        webhooks(io, eng.webhook_outbox_at(shard), settings.pres, m, settings.webhook_retry_ms,
                 settings.webhook_ca_file),
        mail(io, eng.email_outbox_at(shard), settings.mailer,
             {settings.pres.currency, settings.pres.support_email, settings.email_retry_ms}) {}

  boost::asio::io_context& io;
  const server_settings& settings;
  std::shared_ptr<descriptor_budget> descriptors;  // process-wide; slots share it
  api routes;
  // Open HTTP sessions (not WebSockets, nor those lingering after their last answer), and
  // their timeouts.
  http_sessions sessions;
  ws_hub hub;
  webhook_deliverer webhooks;
  email::deliverer mail;  // order email (server/email/deliverer.h); idle without --smtp-url
  std::atomic<size_t> connections{0};  // how many sessions there are, for the main thread while draining
  bool accepting = true;  // false once draining: idle sessions close, busy ones after their answer
};

}  // namespace stampede::http
