#include "core/drop_product_ops.h"

#include "core/drop_ops.h"
#include "core/drop_user_ops.h"
#include "core/shard.h"

namespace stampede::drop_product_ops {

namespace {

auto recorder(shard& s) {
  return [&s](waitlist_effect&& e) {
    std::visit([&s](auto&& x) { s.record(effect(std::move(x))); }, std::move(e));
  };
}

const product* live_product(const shard& s, const std::string& product_id) {
  const product* p = s.products().find(product_id);
  return p && p->active ? p : nullptr;
}

error no_product() { return make_error(error_code::not_found, "no such product"); }

// Units `s`'s waitlist may offer now, to whom: marked offered (logged), then sent to each
// user's shard once that is durable.
void offer(shard& s, const std::string& product_id) {
  const product* p = live_product(s, product_id);
  if (!p || !s.gate().claims().offers_to_waitlist(product_id)) return;
  auto emit = recorder(s);
  auto offers = s.gate().lists().offer(product_id, p->units.available(), emit);
  if (offers.empty()) return;
  s.when_durable([&s, product_id, offers = std::move(offers)] {
    for (const auto& e : offers)
      drop_user_ops::send_offer(s, e.user_id, product_id, e.quantity);
  });
}

void send_supply(shard& s) {
  for (auto& [product_id, supply] : s.gate().supply_changes(s.products())) {
    const drop_claim* c = s.gate().claims().find(product_id);
    if (!c) continue;
    s.send(s.routes().drop_shard(c->drop_id),
           shard_task{[drop_id = c->drop_id, product_id, supply](shard& ds) {
             drop_ops::supply(ds, drop_id, product_id, supply);
           }});
  }
}

}  // namespace

result<product_supply> claim(shard& s, const std::string& product_id, const drop_claim& c) {
  const product* p = live_product(s, product_id);
  if (!p) return field_error("product_ids", "no such product: " + product_id);
  if (auto e = s.gate().claims().check_claim(product_id, c.drop_id)) return std::move(*e);
  s.gate().claims().set(product_id, c);
  s.gate().forget_supply(product_id);
  return supply_of(*p);
}

void unclaim(shard& s, const std::string& product_id, const std::string& drop_id) {
  const drop_claim* c = s.gate().claims().find(product_id);
  if (c && c->drop_id == drop_id) s.gate().claims().set(product_id, std::nullopt);
}

void mark_sold_out(shard& s, const std::string& product_id, const std::string& drop_id) {
  const drop_claim* c = s.gate().claims().find(product_id);
  if (!c || c->drop_id != drop_id) return;
  drop_claim sold = *c;
  sold.sold_out = true;
  s.gate().claims().set(product_id, std::move(sold));
}

void join_waitlist(shard& s, std::string product_id, std::string user_id, int64_t quantity,
                   reply<created<waitlist_place>> done) {
  const product* p = live_product(s, product_id);
  if (!p) return done(no_product());
  int64_t free_units = p->units.available() - s.gate().held_back(s.products(), product_id, {});
  auto emit = recorder(s);
  auto joined = s.gate().lists().join(product_id, user_id, quantity, std::max<int64_t>(0, free_units),
                                      s.now_ms(), emit);
  if (!joined.ok()) return done(std::move(joined).err());
  const waitlist_entry* e = s.gate().lists().find(product_id, user_id);
  created<waitlist_place> answer{
      {product_id, s.gate().lists().position(product_id, user_id).value(), e->quantity},
      joined.value()};
  s.when_answerable([answer = std::move(answer), done = std::move(done)]() mutable {
    done(std::move(answer));
  });
}

void waitlist_place_of(shard& s, std::string product_id, std::string user_id,
                       reply<waitlist_place> done) {
  const waitlist_entry* e = s.gate().lists().find(product_id, user_id);
  if (!e) return done(make_error(error_code::not_found, "not on the waitlist of " + product_id));
  done(waitlist_place{product_id, s.gate().lists().position(product_id, user_id).value(),
                      e->quantity});
}

void leave_waitlist(shard& s, std::string product_id, std::string user_id, reply<ok_t> done) {
  auto emit = recorder(s);
  auto left = s.gate().lists().leave(product_id, user_id, emit);
  if (!left.ok()) return done(std::move(left).err());
  s.when_answerable([done = std::move(done)]() mutable { done(ok_t{}); });
}

void offer_answered(shard& s, const std::string& product_id, const std::string& user_id,
                    std::optional<error_code> refused) {
  auto emit = recorder(s);
  s.gate().lists().offer_answered(product_id, user_id, refused, emit);
}

void tick(shard& s) {
  send_supply(s);
  if (s.gate().take_resend_offers()) {
    for (auto& [product_id, e] : s.gate().lists().in_flight())
      drop_user_ops::send_offer(s, e.user_id, product_id, e.quantity);
  }
  std::vector<std::string> waiting;
  s.gate().lists().for_each_list([&](const std::string& product_id) {
    if (s.gate().lists().unoffered(product_id) > 0) waiting.push_back(product_id);
  });
  for (const auto& product_id : waiting) offer(s, product_id);
}

namespace {

// Counts units of `product_id` under the product's limits, when it is this shard's.
void count_units(shard& s, const limit_units& u) {
  if (s.routes().product_shard(u.product_id) != s.index()) return;
  const product* p = s.products().find(u.product_id);
  if (!p) return;
  if (p->max_per_address > 0)
    s.gate().count(limit_scope::address, u.product_id, u.address, u.quantity);
  if (p->max_per_card <= 0) return;
  for (const auto& key : u.cards) s.gate().count(limit_scope::card, u.product_id, key, u.quantity);
}

}  // namespace

// A restart counts the same way as a takeover, from each shard's list.
void restore(shard& s, const std::vector<const shard*>& all) {
  std::vector<std::vector<limit_units>> parts;
  parts.reserve(all.size());
  for (const shard* other : all) parts.push_back(limit_units_of(*other));
  recount(s, parts);
}

std::vector<limit_units> limit_units_of(const shard& s) {
  std::vector<limit_units> out;
  s.orders().for_each([&out](const order& o) {
    if (!holds_stock(o.status)) return;
    std::string address = address_key(o.shipping_address);
    std::vector<std::string> cards = counted_cards(o);
    for (const auto& item : o.items)
      out.push_back(limit_units{item.product_id, address, cards, item.quantity});
  });
  return out;
}

void recount(shard& s, const std::vector<std::vector<limit_units>>& all) {
  s.gate().clear_counts();
  for (const auto& part : all)
    for (const auto& u : part) count_units(s, u);
  s.gate().resend_offers();
}

}  // namespace stampede::drop_product_ops
