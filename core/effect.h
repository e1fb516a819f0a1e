// Every change to shard state, as the effect it has (absolute values and ids, never
// "reserve for 10 minutes"), so that logging an effect and applying it again on replay
// gives the same state. A shard changes its state only by applying effects; the
// effect_log is where the write-ahead log plugs in. Reservations on product shards are
// not effects: recovery recomputes `reserved` and `committed` from carts and orders.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/address.h"
#include "core/cart.h"
#include "core/catalog.h"
#include "core/drop_effects.h"
#include "core/order.h"
#include "core/webhook.h"

namespace stampede {

// ---- Product shard ----
struct product_created {
  product_create fields;
};
struct product_patched {
  std::string product_id;
  product_patch patch;
};
struct on_hand_set {  // stock adjustment, as the resulting absolute count
  std::string product_id;
  int64_t on_hand = 0;
};
struct product_deactivated {
  std::string product_id;
};

// ---- Any shard ----
struct shipping_methods_replaced {
  std::vector<shipping_method> methods;
};

// ---- User shard ----
struct cart_replaced {  // the whole cart of one user as it now is
  std::string user_id;
  cart contents;
};
struct address_added {
  std::string user_id;
  address value;
};
struct address_deleted {
  std::string user_id;
  std::string address_id;
};
struct order_placed {  // creates the order and empties the cart
  order value;
};
struct order_updated {  // status, payments, tracking: the order as it now is
  order value;
};
struct notification_added {
  std::string user_id;
  notification value;
};
// A stored answer of an idempotent request (idempotency.h).
struct idempotency_stored {
  std::string user_id;
  std::string scope_key;  // route + '\n' + Idempotency-Key
  uint64_t fingerprint = 0;
  int64_t stored_at_ms = 0;
  std::variant<cart_view, order, payment_result> answer;
};

// ---- Webhooks ----
struct webhooks_replaced {  // every shard: the registrations as they now are
  std::vector<webhook> list;
};
struct webhook_event_queued {  // the order's shard: an event for one webhook
  outbox_entry entry;
};
struct webhook_event_done {  // acknowledged by the receiver, or given up on
  int64_t created_at_ms = 0;
  std::string event_id;
  std::string webhook_id;
};

// ---- Snapshots only (never in the write-ahead log) ----
// A product as a snapshot holds it: its fields, stock on hand, state and version.
struct product_restored {
  product_create fields;
  bool active = true;
  uint64_t version = 0;
};

using effect =
    std::variant<product_created, product_patched, on_hand_set, product_deactivated,
                 shipping_methods_replaced, cart_replaced, address_added, address_deleted,
                 order_placed, order_updated, notification_added, idempotency_stored,
                 product_restored, webhooks_replaced, webhook_event_queued, webhook_event_done,
                 // Drops (drop_effects.h); the tags meant for them: 32..38 in this order.
                 drop_created, drop_status_set, drop_ticket_set, drop_ticket_removed,
                 drop_entry_set, waitlist_entry_set, waitlist_entry_removed>;

// One unit of a shard's state in a snapshot: a product with its waitlist ('p' + id), a user
// with the cart, addresses, orders, notifications and idempotency keys ('u' + id), a drop
// with its tickets and entries ('d' + id), the shard's shipping methods ("s"), its webhooks
// ("w") or its webhook outbox ("x"); as the effects that rebuild it on a shard that does
// not have it yet.
struct snapshot_unit {
  std::string key;
  std::vector<effect> effects;
};

// Where a shard sends its part of a snapshot (persistence/snapshot.h). Called on the
// shard's thread: must not block.
class snapshot_sink {
 public:
  virtual ~snapshot_sink() = default;
  virtual void units(uint32_t shard, std::vector<snapshot_unit>&& chunk) = 0;
  // Every unit is sent: together they are the shard's state right after record `lsn`,
  // and the log is durable through `lsn`.
  virtual void covered(uint32_t shard, uint64_t lsn) = 0;
};

// Where a shard's effects go before they count. Shard-local: one log per shard, called
// only from its thread. `append` returns the effect's sequence number; `durable_lsn` is
// the highest one known to be on stable storage.
class effect_log {
 public:
  virtual ~effect_log() = default;
  virtual uint64_t append(const effect& e) = 0;
  // Called at the end of every drain pass: make appended effects durable (or start to).
  virtual void flush() = 0;
  virtual uint64_t durable_lsn() const = 0;
  // Records up to lsn are on stable storage (called on the shard's thread).
  virtual void mark_durable(uint64_t) {}
};

// How an owner reachable from outside its shard's loop (the webhook outbox, from
// server/'s deliverer) changes state: through the shard, which logs the effect and applies
// it. Shard-local: called on the owning shard's thread only.
class effect_recorder {
 public:
  virtual ~effect_recorder() = default;
  // Logs `e`, applies it, and returns its sequence number.
  virtual uint64_t record(effect e) = 0;
};

// No durability: every effect counts as durable once the drain pass that made it ends.
class memory_effect_log final : public effect_log {
 public:
  uint64_t append(const effect&) override { return ++appended_; }
  void flush() override { durable_ = appended_; }
  uint64_t durable_lsn() const override { return durable_; }

 private:
  uint64_t appended_ = 0;
  uint64_t durable_ = 0;
};

}  // namespace stampede
