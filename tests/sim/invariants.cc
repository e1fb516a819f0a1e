#include "tests/sim/invariants.h"

#include <algorithm>

#include "core/stats.h"

namespace stampede::sim {

namespace {

units_by_product units_in(const cart& c) {
  units_by_product out;
  for (const auto& l : c.lines) out[l.product_id] += l.quantity;
  return out;
}

units_by_product units_in(const order& o) {
  units_by_product out;
  for (const auto& i : o.items) out[i.product_id] += i.quantity;
  return out;
}

std::string text(const units_by_product& units) {
  std::string out = "{";
  for (const auto& [p, n] : units) out += (out.size() > 1 ? ", " : "") + p + ": " + std::to_string(n);
  return out + "}";
}

const user_record* user_in(world& w, const std::string& id) {
  return w.at(w.routes().user_shard(id)).users().find(id);
}

const order* order_in(world& w, const std::string& user, const std::string& id) {
  return w.at(w.routes().user_shard(user)).orders().find(id);
}

void reconcile_products(world& w, model& m, checker& check, bool strict) {
  const request* lost = m.admin_lost ? &*m.admin_in_flight : nullptr;
  for (auto& [id, p] : m.products) {
    const product* found = w.at(w.routes().product_shard(id)).products().find(id);
    if (!found) {
      check.fail("after a restart, product " + id + " is gone");
      continue;
    }
    int64_t on_hand = found->units.on_hand();
    bool lost_adjust = lost && lost->what == op::adjust_stock && lost->product == id &&
                       on_hand == p.on_hand + lost->quantity;
    if (strict && on_hand != p.on_hand && !lost_adjust)
      check.fail("after a restart, product " + id + " has on_hand " + std::to_string(on_hand) +
                 "; acknowledged " + std::to_string(p.on_hand));
    p.on_hand = on_hand;
  }
}

// The user's orders as the store has them, against the model's: none acknowledged is gone,
// none appeared that no request placed, each one's status reachable from what was seen.
void reconcile_orders(world& w, model& m, const std::string& id, model_user& u,
                      const user_record* rec, checker& check, bool strict) {
  std::vector<std::string> found = rec ? rec->order_ids : std::vector<std::string>{};
  std::vector<std::string> kept;
  for (const auto& oid : u.orders) {
    const order* o = order_in(w, id, oid);
    if (!o) {
      if (strict) check.fail("after a restart, acknowledged order " + oid + " of " + id + " is gone");
      m.orders.erase(oid);
      continue;
    }
    model_order& mo = m.orders.at(oid);
    if (units_in(*o) != mo.items || o->total != mo.total)
      check.fail("after a restart, order " + oid + " holds " + text(units_in(*o)));
    if (strict && !m.may_show(oid, o->status, true))
      check.fail("after a restart, order " + oid + " is " + std::string(to_string(o->status)) +
                 "; last seen " + std::string(to_string(mo.status)) + ", durably " +
                 std::string(to_string(mo.durable_status)));
    kept.push_back(oid);
  }
  u.orders = kept;
  for (const auto& oid : found) {
    if (std::find(kept.begin(), kept.end(), oid) != kept.end()) continue;
    const order* o = order_in(w, id, oid);
    bool placed = u.lost && u.in_flight->what == op::place_order && units_in(*o) == u.cart;
    if (strict && !placed)
      check.fail("after a restart, " + id + " has order " + oid + " that no request placed");
    m.orders[oid] = model_order{id, units_in(*o), o->total, o->status, o->status, o->expires_at_ms, false, {}};
    u.orders.push_back(oid);
  }
  for (const auto& oid : u.orders) {
    const order* o = order_in(w, id, oid);
    model_order& mo = m.orders.at(oid);
    mo.status = mo.durable_status = o->status;
    mo.expires_at_ms = o->expires_at_ms;
    mo.settle_may_pay = false;
    mo.awaiting_settle.clear();
    for (const auto& p : o->payments)
      if (p.status == payment_status::requires_action) mo.awaiting_settle.push_back(p.id);
  }
}

void reconcile_user(world& w, model& m, const std::string& id, model_user& u, checker& check,
                    bool strict) {
  const user_record* rec = user_in(w, id);
  bool has_address = false;
  for (const auto& a : rec ? rec->addresses : std::vector<address>{})
    has_address = has_address || a.id == u.address_id;
  if (!u.address_id.empty() && !has_address) {
    if (strict) check.fail("after a restart, acknowledged address " + u.address_id + " is gone");
    u.address_id.clear();
  }
  if (u.address_id.empty() && rec && !rec->addresses.empty()) u.address_id = rec->addresses.front().id;
  units_by_product now = rec ? units_in(rec->basket) : units_by_product{};
  size_t orders_before = u.orders.size();
  reconcile_orders(w, m, id, u, rec, check, strict);
  bool placed = u.orders.size() > orders_before;
  bool lost_change = u.lost && now == m.cart_after(u) && (u.in_flight->what != op::place_order || placed);
  if (strict && now != u.cart && !lost_change)
    check.fail("after a restart, " + id + "'s cart is " + text(now) + "; acknowledged " + text(u.cart) +
               (u.lost ? " with " + u.in_flight->describe() + " unanswered" : ""));
  if (strict && placed && !now.empty()) check.fail("after a restart, " + id + " has an order and its cart");
  u.cart = now;
}

}  // namespace

void check_step(world& w, const model& m, checker& check) {
  for (uint32_t i = 0; i < w.shard_count(); ++i) {
    w.at(i).products().for_each([&](const product& p) {
      if (!p.units.invariant_holds())
        check.fail("product " + p.id + ": reserved " + std::to_string(p.units.reserved()) +
                   " + committed " + std::to_string(p.units.committed()) + " > on_hand " +
                   std::to_string(p.units.on_hand()));
    });
    w.at(i).users().for_each([&](const user_record& u) {
      for (const auto& [id, p] : m.products) {
        if (p.max_per_user > 0 && u.units_already(id) > p.max_per_user)
          check.fail(u.id + " has " + std::to_string(u.units_already(id)) + " units of " + id +
                     " in the cart and live orders; max_per_user is " + std::to_string(p.max_per_user));
      }
    });
  }
}

void check_quiet(world& w, const model& m, checker& check) {
  stock_audit audit;
  for (uint32_t i = 0; i < w.shard_count(); ++i) w.at(i).audit_into(audit);
  for (const auto& [id, line] : audit) {
    if (line.reserved != line.held_in_carts)
      check.fail("quiet, product " + id + " has reserved " + std::to_string(line.reserved) +
                 " but carts hold " + std::to_string(line.held_in_carts));
    if (line.committed != line.in_live_orders)
      check.fail("quiet, product " + id + " has committed " + std::to_string(line.committed) +
                 " but live orders hold " + std::to_string(line.in_live_orders));
  }
  for (const auto& [id, p] : m.products) {
    auto it = audit.find(id);
    int64_t on_hand = it == audit.end() ? -1 : it->second.on_hand;
    if (p.created && on_hand != p.on_hand)
      check.fail("quiet, product " + id + " has on_hand " + std::to_string(on_hand) +
                 "; acknowledged " + std::to_string(p.on_hand));
  }
}

void reconcile(world& w, model& m, checker& check, bool strict) {
  reconcile_products(w, m, check, strict);
  for (auto& [id, u] : m.users) reconcile_user(w, m, id, u, check, strict);
  for (auto& [id, u] : m.users) {
    u.in_flight.reset();
    u.lost = false;
  }
  m.admin_in_flight.reset();
  m.admin_lost = false;
  m.gateway_in_flight.reset();
  m.gateway_lost = false;
}

}  // namespace stampede::sim
