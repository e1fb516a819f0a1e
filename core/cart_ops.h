// Cart operations on the user's shard (API.md, "Cart"): read, add to a line (the product's
// shard grants the hold), set or remove a line, clear; and holds lapsing on the timer.
// Every change renews the holds of the cart's held lines. Units a change frees go back to
// their product's shard only once the change is durable.
// Shard-local: call on the user's shard thread (engine.cc gets there).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cart.h"
#include "core/catalog.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace cart_ops {

// The cart as stored: each line at the price and name it had when last added or changed
// (read on the user's shard alone; the preview and the order price each line now).
void get_cart(shard& s, const std::string& user_id, reply<cart_view> done);
// The cart priced as its products are now, from one answer a line in line order (a product
// gone keeps its line as stored): what the checkout preview shows and the order charges. Pure.
cart_view priced_now(const cart& c, const std::vector<stock_answer>& answers);
// `admission`: the Stampede-Admission token, checked here (drop_user_ops::pass_of); a
// drop's product needs one that is valid for this user (its shard decides).
void add_item(shard& s, const std::string& user_id, std::string product_id, int64_t quantity,
              std::optional<std::string> idempotency_key, std::optional<std::string> admission,
              reply<idempotent<cart_view>> done);
// quantity 0 removes the line.
void set_item(shard& s, const std::string& user_id, std::string product_id, int64_t quantity,
              std::optional<std::string> admission, reply<cart_view> done);
void remove_item(shard& s, const std::string& user_id, std::string product_id,
                 reply<cart_view> done);
void clear_cart(shard& s, const std::string& user_id, reply<cart_view> done);

// Timer: the holds of every cart whose deadline is at or before now lapse.
void lapse_holds_due(shard& s, int64_t now_ms);

}  // namespace cart_ops
}  // namespace stampede
