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
#include "core/email.h"
#include "core/order.h"
#include "core/webhook.h"

namespace stampede {

// ---- Product shard ----
struct product_created {
  product_create fields;  bool operator==(const product_created&) const = default;
};
struct product_patched {
  std::string product_id;
  product_patch patch;  bool operator==(const product_patched&) const = default;
};
struct on_hand_set {  // stock adjustment, as the resulting absolute count
  std::string product_id;
  int64_t on_hand = 0;  bool operator==(const on_hand_set&) const = default;
};
struct product_deactivated {
  std::string product_id;  bool operator==(const product_deactivated&) const = default;
};

// ---- Any shard ----
struct shipping_methods_replaced {
  std::vector<shipping_method> methods;  bool operator==(const shipping_methods_replaced&) const = default;
};

// ---- User shard ----
struct cart_replaced {  // the whole cart of one user as it now is
  std::string user_id;
  cart contents;  bool operator==(const cart_replaced&) const = default;
};
struct address_added {
  std::string user_id;
  address value;  bool operator==(const address_added&) const = default;
};
struct address_deleted {
  std::string user_id;
  std::string address_id;  bool operator==(const address_deleted&) const = default;
};
struct order_placed {  // creates the order and empties the cart
  order value;  bool operator==(const order_placed&) const = default;
};
struct order_updated {  // status, payments, tracking: the order as it now is
  order value;  bool operator==(const order_updated&) const = default;
};
struct notification_added {
  std::string user_id;
  notification value;  bool operator==(const notification_added&) const = default;
};
// A stored answer of an idempotent request (idempotency.h), as logs before the compact form
// below hold it: the whole answer as a value. Still read and applied; no longer written.
struct idempotency_stored {
  std::string user_id;
  std::string scope_key;  // route + '\n' + Idempotency-Key
  uint64_t fingerprint = 0;
  int64_t stored_at_ms = 0;
  std::variant<cart_view, order, payment_result> answer;  bool operator==(const idempotency_stored&) const = default;
};

// What an idempotency_kept holds. Persisted: never renumber.
enum class answer_kind : uint8_t {
  cart_now = 0,  // nothing: the answer is the user's cart as the record before left it
  cart = 1,      // a cart (codec.h), shown as view_of(cart)
  order = 2,     // an order
  payment = 3,   // a payment_result
};

// A stored answer of an idempotent request, compact (idempotency.h): the answer's encoding,
// or for an add to the cart nothing at all, since the cart was just recorded.
struct idempotency_kept {
  std::string user_id;
  std::string scope_key;  // route + '\n' + Idempotency-Key
  uint64_t fingerprint = 0;
  int64_t stored_at_ms = 0;
  answer_kind kind = answer_kind::cart_now;
  std::string answer;
  bool operator==(const idempotency_kept&) const = default;
};

// ---- Webhooks ----
struct webhooks_replaced {  // every shard: the registrations as they now are
  std::vector<webhook> list;  bool operator==(const webhooks_replaced&) const = default;
};
struct webhook_event_queued {  // the order's shard: an event for one webhook
  outbox_entry entry;  bool operator==(const webhook_event_queued&) const = default;
};
struct webhook_event_done {  // acknowledged by the receiver, or given up on
  int64_t created_at_ms = 0;
  std::string event_id;
  std::string webhook_id;  bool operator==(const webhook_event_done&) const = default;
};

// ---- Order email (core/email_outbox.h) ----
struct email_queued {  // the order's shard: a mail for the order's address
  email_entry entry;
  bool operator==(const email_queued&) const = default;
};
struct email_done {  // the mail server took it, or it was given up on
  int64_t created_at_ms = 0;
  std::string event_id;
  bool operator==(const email_done&) const = default;
};

// ---- Snapshots only (never in the write-ahead log) ----
// A product as a snapshot holds it: its fields, stock on hand, state and version.
struct product_restored {
  product_create fields;
  bool active = true;
  uint64_t version = 0;  bool operator==(const product_restored&) const = default;
};

using effect =
    std::variant<product_created, product_patched, on_hand_set, product_deactivated,
                 shipping_methods_replaced, cart_replaced, address_added, address_deleted,
                 order_placed, order_updated, notification_added, idempotency_stored,
                 product_restored, webhooks_replaced, webhook_event_queued, webhook_event_done,
                 idempotency_kept,
                 // mail's WAL tags (range 48..55): email_queued 48, email_done 49
                 email_queued, email_done,
                 // Drops (drop_effects.h), WAL tags 32..41 in this order (wal_format.cc)
                 drop_created, drop_status_set, drop_ticket_set, drop_ticket_removed,
                 drop_entry_set, waitlist_entry_set, waitlist_entry_removed, product_limits_set,
                 card_fingerprint_set, drop_notice_added>;

// One unit of a shard's state in a snapshot: a product with its waitlist ('p' + id), a user
// with the cart, addresses, orders, notifications and idempotency keys ('u' + id), a drop
// with its tickets and entries ('d' + id), the shard's shipping methods ("s"), its webhooks
// ("w"), its webhook outbox ("x") or its email outbox ("m"); as the effects that rebuild it
// on a shard that does not have it yet.
// The effect that logs notification `n` of a user: drop_notice_added when it names a drop or
// a product (fields notification_added's encoding predates), notification_added otherwise.
inline effect notice_effect(std::string user_id, notification n) {
  if (n.drop_id.empty() && n.product_id.empty())
    return notification_added{std::move(user_id), std::move(n)};
  return drop_notice_added{std::move(user_id), std::move(n)};
}

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
// only from its thread. `append` returns the effect's sequence number, or 0 when the effect
// cannot be logged (it does not fit one record: wal_format's record_payload_max), in which
// case nothing was logged and the shard must not apply it; `durable_lsn` is the highest
// sequence number known to be on stable storage.
class effect_log {
 public:
  virtual ~effect_log() = default;
  virtual uint64_t append(const effect& e) = 0;
  // Called at the end of every drain pass: make appended effects durable (or start to).
  virtual void flush() = 0;
  virtual uint64_t durable_lsn() const = 0;
  // Records up to lsn are on stable storage (called on the shard's thread).
  virtual void mark_durable(uint64_t) {}
  // Replication (persistence/replicated_log.h): with --durability async a client's answer
  // still waits for the stream's acknowledgement, acknowledged_lsn(), not for the disk.
  virtual bool answers_wait_for_ack() const { return false; }
  virtual uint64_t acknowledged_lsn() const { return durable_lsn(); }
};

// How an owner reachable from outside its shard's loop (the webhook outbox, from
// server/'s deliverer) changes state: through the shard, which logs the effect and applies
// it. Shard-local: called on the owning shard's thread only.
class effect_recorder {
 public:
  virtual ~effect_recorder() = default;
  // Logs `e` and applies it. REQUIRES: `e` is bounded by the limits to fit a record.
  virtual void record(effect e) = 0;
  // Whether it records at all: a replication follower does not (its primary does).
  virtual bool records() const { return true; }
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
