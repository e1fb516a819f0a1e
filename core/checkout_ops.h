// Checkout on the user's shard (API.md, "Checkout"): the preview, which changes nothing,
// and placing the order, the commit point: every line is checked again on its product's
// shard (lapsed lines are reserved again, all or nothing), then one order_placed effect
// records the order and empties the cart, and the holds move into committed stock.
// Shard-local: call on the user's shard thread (engine.cc gets there).
#pragma once

#include <optional>
#include <string>

#include "core/checkout.h"
#include "core/order.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace checkout_ops {

void preview(shard& s, const std::string& user_id, checkout_request req,
             reply<checkout_summary> done);
void place_order(shard& s, const std::string& user_id, checkout_request req,
                 std::optional<std::string> idempotency_key, reply<idempotent<order>> done);

}  // namespace checkout_ops
}  // namespace stampede
