#include "core/drop_gate.h"

namespace stampede {

product_supply supply_of(const product& p) {
  return product_supply{true, p.active ? p.units.available() : 0, p.units.reserved(),
                        p.max_per_user};
}

stock_answer drop_gate::decide(catalog& products, const stock_ask& ask, int64_t now_ms) {
  // The common case in one branch: no drop and no waitlist on this shard, no limit across
  // accounts asked. The catalog alone decides, with one lookup (the hot product's path).
  if (claims_.empty() && lists_.empty() && !ask.terms) return products.decide(ask, now_ms);
  const drop_claim* claim = claims_.find(ask.product_id);
  stock_answer a;
  if (ask.limit_only()) return decide_limit(products, ask, std::move(a));
  if (ask.take && ask.units > 0) {
    if (auto refused = claims_.check_take(ask.product_id, ask.pass(), now_ms)) {
      a.refused = refused->code;
      if (claim) a.set_terms().drop_id = claim->drop_id;
      return a;
    }
  }
  a = products.decide(ask, now_ms, held_back(products, ask.product_id, ask.pass()));
  if (claim) a.set_terms().drop_id = claim->drop_id;
  // API.md's order: the sale window and the per-user limit first, then the limits across
  // accounts, then stock.
  if (a.refused && *a.refused != error_code::out_of_stock) return a;
  return decide_limit(products, ask, std::move(a));
}

int64_t drop_gate::held_back(const catalog& products, const std::string& product_id,
                              const take_pass& pass) const {
  if (pass.what == take_pass::kind::waitlist_offer) return 0;
  if (lists_.unoffered(product_id) > 0 && claims_.offers_to_waitlist(product_id)) {
    const product* p = products.find(product_id);
    return p ? p->units.on_hand() : 0;
  }
  return lists_.offered_units(product_id);
}

stock_answer drop_gate::decide_limit(catalog& products, const stock_ask& ask, stock_answer a) {
  if (!ask.counts_limit()) return a;
  const product* p = products.find(ask.product_id);
  if (!p) return a;
  const ask_terms& t = *ask.terms;
  int64_t limit = t.limit == limit_scope::address ? p->max_per_address : p->max_per_card;
  if (limit <= 0) return a;
  auto breach = counts(t.limit).check(ask.product_id, t.limit_key, ask.adding, limit, t.limit);
  if (breach) {
    if (a.reserved) {  // taken by this very decision: give it back
      products.release(ask.product_id, ask.units);
      a.reserved = false;
    }
    a.refused = error_code::limit_exceeded;
    answer_terms& refused = a.set_terms();
    refused.refused_limit = t.limit;
    refused.limit = breach->limit;
    refused.limit_already = breach->already;
    return a;
  }
  if (a.refused) return a;  // out of stock: nothing counted
  counts(t.limit).add(ask.product_id, t.limit_key, ask.adding);
  a.set_terms().limit_counted = true;
  return a;
}

void drop_gate::release_limit(const std::string& product_id, limit_scope scope,
                              const std::string& key, int64_t units) {
  counts(scope).remove(product_id, key, units);
}

void drop_gate::clear_counts() {
  addresses_.clear();
  cards_.clear();
}

void drop_gate::count(limit_scope scope, const std::string& product_id, const std::string& key,
                      int64_t units) {
  counts(scope).add(product_id, key, units);
}

std::vector<std::pair<std::string, product_supply>> drop_gate::supply_changes(
    const catalog& products) {
  std::vector<std::pair<std::string, product_supply>> out;
  claims_.for_each([&](const std::string& product_id, const drop_claim&) {
    const product* p = products.find(product_id);
    if (!p) return;
    product_supply now = supply_of(*p);
    auto it = supply_sent_.find(product_id);
    if (it != supply_sent_.end() && it->second == now) return;
    supply_sent_[product_id] = now;
    out.emplace_back(product_id, now);
  });
  return out;
}

}  // namespace stampede
