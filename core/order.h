// Orders and their status machine, exactly as API.md draws it:
//   pending -> paid -> processing -> shipped -> out_for_delivery -> delivered
// with forward skips for admins past `paid`, and canceled from pending, paid, processing.
// Plain values and pure functions; orders live on their owner's shard.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"

namespace stampede {

enum class order_status : uint8_t {
  pending,
  paid,
  processing,
  shipped,
  out_for_delivery,
  delivered,
  canceled,
};

std::string_view to_string(order_status s);
std::optional<order_status> parse_order_status(std::string_view s);

// Who asks for a change: an admin moving an order along, the owner or an admin
// canceling, or the engine itself (payment settled, payment deadline passed).
enum class transition_actor : uint8_t { admin, owner, system };

// May an order go from `from` to `to` at the request of `actor`?
bool transition_allowed(order_status from, order_status to, transition_actor actor);
// True for the statuses whose units count as committed (everything but canceled).
inline bool holds_stock(order_status s) { return s != order_status::canceled; }

struct order_item {
  std::string product_id;
  std::string name;
  int64_t unit_price = 0;
  int64_t quantity = 0;
  int64_t line_total = 0;
  bool operator==(const order_item&) const = default;
};

enum class payment_status : uint8_t { requires_action, succeeded, failed, refunded };
std::string_view to_string(payment_status s);

struct payment {
  std::string id;  // "pay_..."
  payment_status status = payment_status::requires_action;
  std::string method;  // "card" | "paypal"
  int64_t amount = 0;
  std::string failure_reason;
  std::string card_brand;
  std::string card_last4;
  std::string redirect_url;
  int64_t created_at_ms = 0;
  // A card's fingerprint (drop_identity.h: a keyed HMAC of the number only), for
  // max_per_card; never shown. Empty for other methods.
  std::string card_fingerprint;
  bool operator==(const payment&) const = default;
};

struct status_change {
  order_status status;
  int64_t at_ms = 0;
  bool operator==(const status_change&) const = default;
};

struct order {
  std::string id;  // "ord_..."
  std::string user_id;
  order_status status = order_status::pending;
  std::vector<order_item> items;
  int64_t subtotal = 0;
  int64_t shipping = 0;
  int64_t total = 0;
  shipping_method method;
  address shipping_address;
  address billing_address;
  std::vector<payment> payments;
  std::optional<std::string> tracking_number;
  std::optional<int64_t> expires_at_ms;  // the payment deadline while pending
  std::vector<status_change> history;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string email;  // where order email goes ("": none); checked by server/ before checkout
  bool operator==(const order&) const = default;
};

// A payment attempt's answer: the payment and the order after it.
struct payment_result {
  payment pay;
  order order_now;
  bool operator==(const payment_result&) const = default;
};

// Notification events of API.md ("order.shipped").
std::string_view event_name_for(order_status s);

struct notification {
  std::string id;  // "ntf_..."
  std::string event;
  std::string order_id;
  order_status order_status_now = order_status::pending;
  std::vector<order_item> items;
  int64_t total = 0;
  std::optional<std::string> tracking_number;
  std::string message;
  int64_t created_at_ms = 0;
  // Drop events (drop.admitted, drop.won, waitlist.offered) name a drop or a product and no
  // order (order_id empty).
  std::string drop_id;
  std::string product_id;
  bool operator==(const notification&) const = default;
};

// The sentence a shopper reads for an event.
std::string_view message_for(std::string_view event);

}  // namespace stampede
