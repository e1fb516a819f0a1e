// The figures of the admin:stats WebSocket topic (API.md, "WebSocket"), made once a second on
// one shard's thread (a timer on its io_context; the engine's answers come back there) and
// handed, as one shared text, to a `publish` callback that gives it to every shard's hub.
//   orders_per_s        orders the store gained since the last tick, a second
//   *_p99_ms            POST /v1/cart/items and POST /v1/orders since the last tick (metrics'
//                       latency windows; 0 when there were none)
//   ws_connections      open WebSockets, across shards
//   products            the catalog's first stats_products_max products by id, admin counts
//   drops               drops not closed, those still selling first, at most stats_drops_max
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/functional/any_invocable.h"
#include "core/engine.h"
#include "server/metrics.h"

namespace stampede::http {

inline constexpr int64_t stats_period_ms = 1000;
inline constexpr const char* stats_topic_key = "admin:stats";
inline constexpr int64_t stats_products_max = 200;  // one page of the admin listing
inline constexpr int64_t stats_drops_max = 50;

struct drop_figures {
  std::string id;
  std::string state;
  int64_t waiting = 0;
  int64_t admitted = 0;
};

struct stats_figures {
  int64_t at_ms = 0;
  double orders_per_s = 0;
  double add_to_cart_p99_ms = 0;
  double checkout_p99_ms = 0;
  int64_t ws_connections = 0;
  std::vector<product_view> products;
  std::vector<drop_figures> drops;
};

// The message's drops from the store's: every drop not closed, those not sold out first,
// then by id, at most stats_drops_max. Pure.
std::vector<drop_figures> drops_to_show(const std::vector<stampede::drop_figures>& all);

// {"type": "stats", ...}: the message as subscribers get it. Pure.
std::string stats_message(const stats_figures& f);

class stats_publisher {
 public:
  using publish_fn = absl::AnyInvocable<void(std::shared_ptr<const std::string>)>;

  // `io` is the thread the figures are made on; `publish` is called there once a second.
  stats_publisher(engine& eng, metrics& m, boost::asio::io_context& io, publish_fn publish);
  ~stats_publisher();
  // Both post to `io`'s thread.
  void start();
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace stampede::http
