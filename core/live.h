// Live updates (API.md, "WebSocket"): the topics a connection may watch, what the shard
// that owns a topic publishes, and the sink through which a shard hands it to the
// connections it holds (server/'s WebSocket hub).
//
// Topic keys: "product:<id>" (the product's shard), "order:<id>" and "orders:<user>" (the
// user's shard), "admin:orders" (every shard). A connection's shard asks the owner to watch
// a topic (events::watch, on the owner's shard); the owner counts watchers per shard and answers with a snapshot;
// from then on every change goes to each watching shard once, as a message after that
// answer (the per-destination order of shard messages), and that shard fans it out.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/drop_types.h"
#include "core/errors.h"
#include "core/order.h"

namespace stampede {

// An order event, published once its records are durable.
struct order_event {
  order now;                             // the order after the change
  std::optional<order_status> previous;  // nullopt: a new order
  bool status_changed = false;           // false: payment_failed, refunded (a notification only)
  notification note;                     // the owner's inbox entry for the event
};

// What a watch is answered with: the topic's current state.
struct watch_snapshot {
  std::optional<order> order_now;        // order:<id>
  std::optional<int64_t> available;      // product:<id>
  std::optional<ticket_view> ticket;     // queue:<drop>:<user>, once the user has one
  bool watched_queue = false;            // a queue topic (with or without a ticket yet)
};

// One per shard; every call on that shard's thread.
class live_sink {
 public:
  virtual ~live_sink() = default;
  virtual void watch_answered(uint64_t ticket, result<watch_snapshot> answer) = 0;
  virtual void order_changed(const std::shared_ptr<const order_event>& e) = 0;
  virtual void availability(const std::string& product_id, int64_t available, int64_t at_ms) = 0;
  // A watched queue ticket changed (queue:<drop>:<user> is `key`): at most once a second,
  // at once on admission and sold out.
  virtual void ticket_changed(const std::string& key, const ticket_view& ticket) {
    (void)key;
    (void)ticket;
  }
};

}  // namespace stampede
