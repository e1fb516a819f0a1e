// The effects of drops, as absolute values (Redis' rule: log effects, not intentions), so
// that the log and snapshots rebuild exactly the state they came from; their pinned WAL
// tags; and each one's fields in wire order for persistence/wal_format (found by ADL).
// A drop's effects live on the drop's shard; a product's waitlist on the product's shard.
// (Which drop a product belongs to is derived from the drops, as reserved and committed
// are from carts and orders: drop_claims.h.) Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/drop_definition.h"
#include "core/drop_types.h"
#include "core/order.h"

namespace stampede {

// ---- The drop's shard ----
struct drop_created {
  drop_definition definition;
  std::string seed;  // the 32 raw bytes; revealed in hex at the shuffle or draw
  int64_t created_at_ms = 0;
  bool operator==(const drop_created&) const = default;
};
struct drop_status_set {  // the drop's status and counts as they now are
  std::string drop_id;
  drop_status status;
  bool operator==(const drop_status_set&) const = default;
};
struct drop_ticket_set {  // one queue ticket as it now is
  std::string drop_id;
  drop_ticket ticket;
  bool operator==(const drop_ticket_set&) const = default;
};
struct drop_ticket_removed {  // the user left the queue
  std::string drop_id;
  std::string user_id;
  bool operator==(const drop_ticket_removed&) const = default;
};
struct drop_entry_set {  // one draw entry as it now is
  std::string drop_id;
  drop_entry entry;
  bool operator==(const drop_entry_set&) const = default;
};
using drop_effect = std::variant<drop_created, drop_status_set, drop_ticket_set,
                                 drop_ticket_removed, drop_entry_set>;

// ---- The product's shard ----
struct waitlist_entry_set {  // one waitlist entry as it now is
  std::string product_id;
  waitlist_entry entry;
  bool operator==(const waitlist_entry_set&) const = default;
};
struct waitlist_entry_removed {
  std::string product_id;
  std::string user_id;
  bool operator==(const waitlist_entry_removed&) const = default;
};
using waitlist_effect = std::variant<waitlist_entry_set, waitlist_entry_removed>;

// ---- Fields drops added to older values, as effects of their own ----
// The older effects' encodings are fixed (core/codec.h: records on disk outlive the code;
// the golden log of tests/persistence/data must still decode byte for byte), so what drops
// added to a product, a payment and a notification is logged beside them, right after.
struct product_limits_set {  // product's shard: its limits across accounts
  std::string product_id;
  int64_t max_per_address = 0;
  int64_t max_per_card = 0;
  bool operator==(const product_limits_set&) const = default;
};
struct card_fingerprint_set {  // user's shard: the card fingerprint of an order's payment
  std::string user_id;
  std::string order_id;
  std::string payment_id;
  std::string fingerprint;
  bool operator==(const card_fingerprint_set&) const = default;
};
struct drop_notice_added {  // user's shard: a notification naming a drop or a product
  std::string user_id;
  notification value;
  bool operator==(const drop_notice_added&) const = default;
};

// Their WAL tags (persistence/wal_format): drops own 32..47. drop_created 32,
// drop_status_set 33, drop_ticket_set 34, drop_ticket_removed 35, drop_entry_set 36,
// waitlist_entry_set 37, waitlist_entry_removed 38, product_limits_set 39,
// card_fingerprint_set 40, drop_notice_added 41.

// ---- Fields in wire order (one list per type: encoder and decoder cannot drift) ----
template <class A>
void fields(A& a, drop_definition& x) {
  a(x.id, x.product_ids, x.mode, x.opens_at_ms, x.draw_closes_at_ms, x.admit_per_s,
    x.admission_ttl_s, x.overbook_permille);
}
template <class A>
void fields(A& a, drop_status& x) {
  a(x.opened, x.drawn, x.paused, x.sold_out, x.closed, x.pauses, x.admitted, x.converted, x.expired,
    x.winners);
}
template <class A>
void fields(A& a, drop_ticket& x) {
  a(x.user_id, x.state, x.place, x.joined_at_ms, x.admitted_at_ms, x.admitted_until_ms, x.used,
    x.converted);
}
template <class A>
void fields(A& a, drop_entry& x) {
  a(x.user_id, x.stage, x.rank, x.entered_at_ms, x.held_until_ms);
}
template <class A>
void fields(A& a, waitlist_entry& x) {
  a(x.user_id, x.quantity, x.place, x.joined_at_ms, x.offered);
}
template <class A>
void fields(A& a, drop_created& x) {
  a(x.definition, x.seed, x.created_at_ms);
}
template <class A>
void fields(A& a, drop_status_set& x) {
  a(x.drop_id, x.status);
}
template <class A>
void fields(A& a, drop_ticket_set& x) {
  a(x.drop_id, x.ticket);
}
template <class A>
void fields(A& a, drop_ticket_removed& x) {
  a(x.drop_id, x.user_id);
}
template <class A>
void fields(A& a, drop_entry_set& x) {
  a(x.drop_id, x.entry);
}
template <class A>
void fields(A& a, waitlist_entry_set& x) {
  a(x.product_id, x.entry);
}
template <class A>
void fields(A& a, waitlist_entry_removed& x) {
  a(x.product_id, x.user_id);
}
template <class A>
void fields(A& a, product_limits_set& x) {
  a(x.product_id, x.max_per_address, x.max_per_card);
}
template <class A>
void fields(A& a, card_fingerprint_set& x) {
  a(x.user_id, x.order_id, x.payment_id, x.fingerprint);
}
// The notification's own fields (core/codec.h), then the two drops added.
template <class A>
void fields(A& a, drop_notice_added& x) {
  a(x.user_id, x.value, x.value.drop_id, x.value.product_id);
}

}  // namespace stampede
