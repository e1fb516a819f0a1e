#include "core/replica_ops.h"

#include <string>
#include <utility>

#include <boost/asio/post.hpp>

#include "absl/container/flat_hash_map.h"
#include "core/shard.h"

namespace stampede::replica_ops {

namespace {

// Per product: units held by a user's cart and units in the user's live orders.
struct claim {
  int64_t held = 0;
  int64_t ordered = 0;
};
using claims = absl::flat_hash_map<std::string, claim>;

void add_claims(const user_record* u, int64_t sign, claims& out) {
  if (u == nullptr) return;
  for (const auto& l : u->basket.lines)
    if (l.held) out[l.product_id].held += sign * l.quantity;
  for (const auto& [product_id, units] : u->ordered_units) out[product_id].ordered += sign * units;
}

// The user whose claims the effect changes, if it changes any.
const std::string* claimant(const effect& e) {
  if (auto* x = std::get_if<cart_replaced>(&e)) return &x->user_id;
  if (auto* x = std::get_if<order_placed>(&e)) return &x->value.user_id;
  if (auto* x = std::get_if<order_updated>(&e)) return &x->value.user_id;
  return nullptr;
}

// The product whose on_hand the effect sets, if it sets one.
const std::string* on_hand_of(const effect& e) {
  if (auto* x = std::get_if<on_hand_set>(&e)) return &x->product_id;
  if (auto* x = std::get_if<product_patched>(&e); x != nullptr && x->patch.on_hand)
    return &x->product_id;
  return nullptr;
}

// On the product's shard: adds a claim's change to the counts. The product may not be
// there yet (its shard's stream is followed apart from the user's): then try again on a
// later turn of the loop.
void add_counts(shard& s, std::string product_id, claim delta) {
  if (s.products().add_counts(product_id, delta.held, delta.ordered)) return;
  boost::asio::post(s.io(), [&s, product_id = std::move(product_id), delta]() mutable {
    add_counts(s, std::move(product_id), delta);
  });
}

}  // namespace

void apply(shard& s, effect&& e, uint64_t lsn) {
  if (const std::string* product_id = on_hand_of(e)) {
    // The primary checked on_hand against its own counts; ours may lead them for a moment.
    // Set it without that check: take our counts out, apply, put them back.
    std::string id = *product_id;
    const product* p = s.products().find(id);
    int64_t held = p ? p->units.reserved() : 0, ordered = p ? p->units.committed() : 0;
    if (p) s.products().add_counts(id, -held, -ordered);
    s.replicated(std::move(e), lsn);
    if (p) s.products().add_counts(id, held, ordered);
    return;
  }
  const std::string* who = claimant(e);
  if (who == nullptr) {
    s.replicated(std::move(e), lsn);
    return;
  }
  std::string user_id = *who;
  claims change;
  add_claims(s.users().find(user_id), -1, change);
  s.replicated(std::move(e), lsn);
  add_claims(s.users().find(user_id), +1, change);
  for (auto& [product_id, delta] : change) {
    if (delta.held == 0 && delta.ordered == 0) continue;
    s.send(s.routes().product_shard(product_id),
           shard_task{[product_id, delta](shard& owner) { add_counts(owner, product_id, delta); }});
  }
}

}  // namespace stampede::replica_ops
