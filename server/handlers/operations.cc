// Operations: /healthz (the process runs), /readyz (the store is loaded and serving) and
// /metrics (Prometheus text, with every shard's gauges read on its own thread).
#include <atomic>

#include "server/handlers/handlers.h"

namespace stampede::http::handlers {

namespace {

// Process-wide: set by main once the shards serve, cleared when draining.
std::atomic<bool> ready_flag{false};

}  // namespace

void set_ready(bool ready) { ready_flag.store(ready, std::memory_order_release); }

void healthz(handler_context&, call& c) {
  c.respond(json_response(200, json::object{{"status", "ok"}}));
}

void readyz(handler_context& ctx, call& c) {
  if (auto following = following_readiness(ctx)) return c.respond(std::move(*following));
  if (ready_flag.load(std::memory_order_acquire)) {
    c.respond(json_response(200, json::object{{"status", "ready"}}));
  } else {
    c.respond(json_response(503, json::object{{"status", "starting"}}));
  }
}

void metrics_text(handler_context& ctx, call& c) {
  ctx.eng.stats(reply<store_stats>(ctx.executor, [&ctx, respond = std::move(c.respond)](
                                                     result<store_stats> stats) mutable {
    response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = ctx.stats.render(ctx.eng, stats.ok() ? stats.value() : store_stats{});
    r.body += replication_metrics(ctx);
    respond(std::move(r));
  }));
}

}  // namespace stampede::http::handlers
