// Drops on a user's shard: the admission token an add-to-cart shows, checked here without
// asking the drop's shard; a draw's win and a waitlist's offer put in the cart as held
// lines through the ordinary stock asks (all or nothing), each with its notification; a
// winner's hold checked at its deadline; the drops told of a first add and of an order;
// and the limits across accounts a payment's card counts against (max_per_card).
// Shard-local: call on the user's shard, except send_offer (any shard: it posts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "core/catalog.h"
#include "core/drop_types.h"
#include "core/order.h"

namespace stampede {

class shard;
class user_turn;

namespace drop_user_ops {

// What an add-to-cart by `user_id` with this Stampede-Admission token may take: an
// admission to the token's drop when it verifies (signed for this user, not expired),
// else nothing (a drop's product then answers not_admitted on its shard).
take_pass pass_of(const shard& s, const std::string& user_id,
                  const std::optional<std::string>& token);
// After an add that an admission let through: the drop stops counting the shopper as one
// who holds nothing.
void admission_taken(shard& s, const std::string& user_id, const take_pass& pass);
// After an order: each drop whose product it holds counts the user as converted.
void tell_conversions(shard& s, const std::string& user_id,
                      const std::vector<stock_answer>& answers);

// A drop event in the user's inbox (and their `orders` watchers, and webhooks).
void notify(shard& s, const std::string& user_id, std::string event, std::string drop_id,
            std::string product_id);

// A draw's win: one unit of each product, held in the cart; the drop's shard hears the
// hold's deadline (0: the user has ordered them since the draw at `drawn_at_ms`, a grant
// sent again after a restart) or the refusal.
void place_win(shard& s, std::string user_id, std::string drop_id,
               std::vector<std::string> product_ids, int64_t drawn_at_ms, uint32_t drop_shard);
// A winner's hold at its deadline: ordered (since the draw at `drawn_at_ms`), still held
// (until when), or lapsed.
void check_win_hold(shard& s, std::string user_id, std::string drop_id,
                    std::vector<std::string> product_ids, int64_t drawn_at_ms, uint32_t drop_shard);
// A waitlist's offer, from the product's shard `s`: `quantity` units held in the user's cart.
void send_offer(shard& s, const std::string& user_id, const std::string& product_id,
                int64_t quantity);

// Limits across accounts at payment: counts `o`'s units under the card's fingerprint on
// the products' shards; then(true) once counted, then(false) when this order counts under
// that card already, then(error) if one is over max_per_card (nothing stays counted).
void count_card(shard& s, user_turn turn, const order& o, const std::string& fingerprint,
                absl::AnyInvocable<void(user_turn, result<bool>)> then);
// A payment's card counted for it, once `after` (its outcome recorded) is durable: given
// back unless `after` counts under it (the payment declined, or refunded at once).
void release_card_if_unused(shard& s, const order& after, const std::string& fingerprint);
// Once `after` is durable: the counts `before` held and `after` no longer does go back
// (an order canceled; a payment that required action failing).
void release_counts(shard& s, const order& before, const order& after);

}  // namespace drop_user_ops
}  // namespace stampede
