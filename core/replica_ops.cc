#include "core/replica_ops.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/shard.h"

namespace stampede::replica_ops {

namespace {

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

// The product an effect brings into this shard's catalog, if it brings one.
const std::string* created(const effect& e) {
  if (auto* x = std::get_if<product_created>(&e)) return &x->fields.id;
  if (auto* x = std::get_if<product_restored>(&e)) return &x->fields.id;
  return nullptr;
}

}  // namespace

void waiting_claims::add(shard& owner, const std::string& product_id, claim delta) {
  if (owner.products().add_counts(product_id, delta.held, delta.ordered)) return;
  claim& w = by_shard_[owner.index()][product_id];
  w.held += delta.held;
  w.ordered += delta.ordered;
}

void waiting_claims::arrived(shard& owner, const std::string& product_id) {
  auto& mine = by_shard_[owner.index()];
  auto it = mine.find(product_id);
  if (it == mine.end()) return;
  claim w = it->second;
  mine.erase(it);
  add(owner, product_id, w);
}

void apply(shard& s, effect&& e, uint64_t lsn, waiting_claims& waiting) {
  if (const std::string* product_id = created(e)) {
    std::string id = *product_id;
    s.replicated(std::move(e), lsn);
    waiting.arrived(s, id);
    return;
  }
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
           shard_task{[&waiting, product_id, delta](shard& owner) {
             waiting.add(owner, product_id, delta);
           }});
  }
}

}  // namespace stampede::replica_ops
