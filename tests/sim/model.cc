#include "tests/sim/model.h"

#include <algorithm>

namespace stampede::sim {

namespace {

constexpr int64_t standard_shipping = 500;  // core/address.cc's default "standard"

std::string units_text(const units_by_product& units) {
  std::string out = "{";
  for (const auto& [p, n] : units) out += (out.size() > 1 ? ", " : "") + p + ": " + std::to_string(n);
  return out + "}";
}

units_by_product units_of_items(const std::vector<order_item>& items) {
  units_by_product out;
  for (const auto& i : items) out[i.product_id] += i.quantity;
  return out;
}

}  // namespace

std::string_view to_string(op o) {
  static constexpr std::string_view names[] = {
      "create_product", "add_address", "add_item", "set_item", "remove_item",
      "clear_cart",     "place_order", "pay",      "cancel",   "get_order",
      "get_cart",       "settle",      "adjust_stock", "get_product"};
  return names[static_cast<size_t>(o)];
}

std::string request::describe() const {
  std::string out = std::string(to_string(what)) + "(" + actor;
  if (!product.empty()) out += ", " + product;
  if (what == op::add_item || what == op::set_item || what == op::adjust_stock)
    out += ", " + std::to_string(quantity);
  if (!order_id.empty()) out += ", " + order_id;
  if (what == op::pay) out += std::string(", ") + sandbox_cards[card].method + " " + sandbox_cards[card].number;
  if (!payment_id.empty()) out += ", " + payment_id + (settle_succeeded ? " succeeded" : " failed");
  return out + ")";
}

void model::fail(const request& r, const std::string& what) {
  check_.fail("answer to " + r.describe() + ": " + what);
}

bool model::expected(const request& r, const error& e, std::initializer_list<error_code> allowed) {
  if (std::find(allowed.begin(), allowed.end(), e.code) != allowed.end()) return true;
  fail(r, "unexpected error " + std::string(stampede::to_string(e.code)) + " (" + e.message + ")");
  return false;
}

// ---- Products ----

void model::product_answered(const request& r, const result<product_view>& a) {
  if (r.what == op::adjust_stock) return stock_answered(r, a);
  if (!a.ok()) {
    expected(r, a.err(), {});
    return;
  }
  auto& p = products[r.product];
  if (a->reserved < 0 || a->committed < 0 || a->reserved + a->committed > a->on_hand)
    fail(r, "reserved " + std::to_string(a->reserved) + " + committed " +
                std::to_string(a->committed) + " > on_hand " + std::to_string(a->on_hand));
  if (r.what == op::create_product) {
    p.created = true;
    p.on_hand = a->on_hand;
    return;
  }
  if (a->on_hand != p.on_hand)
    fail(r, "on_hand " + std::to_string(a->on_hand) + ", acknowledged " + std::to_string(p.on_hand));
  if (a->price != p.price) fail(r, "price " + std::to_string(a->price));
}

void model::stock_answered(const request& r, const result<product_view>& a) {
  auto& p = products[r.product];
  if (!a.ok()) {
    // Removing units that carts and orders hold is refused; adding never is.
    if (r.quantity < 0) expected(r, a.err(), {error_code::conflict});
    else expected(r, a.err(), {});
    return;
  }
  if (a->on_hand != p.on_hand + r.quantity)
    fail(r, "on_hand " + std::to_string(a->on_hand) + " after " + std::to_string(p.on_hand) +
                " and a delta of " + std::to_string(r.quantity));
  if (a->reserved + a->committed > a->on_hand) fail(r, "the answer oversells");
  p.on_hand = a->on_hand;
}

void model::address_answered(const request& r, const result<std::string>& id) {
  if (!id.ok()) {
    expected(r, id.err(), {});
    return;
  }
  users[r.actor].address_id = id.value();
}

// ---- Carts ----

int64_t model::units_of(const std::string& user, const std::string& product) const {
  const model_user& u = users.at(user);
  auto it = u.cart.find(product);
  int64_t n = it == u.cart.end() ? 0 : it->second;
  for (const auto& id : u.orders) {
    const model_order& o = orders.at(id);
    if (o.status == order_status::canceled) continue;
    auto item = o.items.find(product);
    if (item != o.items.end()) n += item->second;
  }
  return n;
}

bool model::limit_may_refuse(const std::string& user, const std::string& product,
                             int64_t more) const {
  int64_t max = products.at(product).max_per_user;
  return max > 0 && units_of(user, product) + more > max;
}

void model::check_cart(const request& r, const cart_view& v, const units_by_product& want) {
  units_by_product seen;
  int64_t count = 0;
  for (const auto& line : v.items) {
    seen[line.product_id] += line.quantity;
    count += line.quantity;
    if (line.unit_price != products[line.product_id].price)
      fail(r, "line " + line.product_id + " at price " + std::to_string(line.unit_price));
  }
  if (seen != want) fail(r, "cart " + units_text(seen) + ", the model says " + units_text(want));
  if (count != v.item_count) fail(r, "item_count " + std::to_string(v.item_count));
}

void model::cart_answered(const request& r, const result<cart_view>& a) {
  model_user& u = users[r.actor];
  if (r.what == op::add_item) return add_item_answered(r, u, a);
  if (r.what == op::set_item || r.what == op::remove_item) return set_item_answered(r, u, a);
  if (!a.ok()) {
    expected(r, a.err(), {});
    return;
  }
  if (r.what == op::clear_cart) u.cart.clear();
  check_cart(r, a.value(), u.cart);
}

void model::add_item_answered(const request& r, model_user& u, const result<cart_view>& a) {
  if (!a.ok()) {
    if (a.code() == error_code::limit_exceeded && !limit_may_refuse(r.actor, r.product, r.quantity))
      fail(r, "limit_exceeded with " + std::to_string(units_of(r.actor, r.product)) + " units of " +
                  std::to_string(products[r.product].max_per_user));
    expected(r, a.err(), {error_code::out_of_stock, error_code::limit_exceeded});
    return;
  }
  units_by_product want = u.cart;
  want[r.product] += r.quantity;
  check_cart(r, a.value(), want);
  u.cart = std::move(want);
}

void model::set_item_answered(const request& r, model_user& u, const result<cart_view>& a) {
  int64_t target = r.what == op::remove_item ? 0 : r.quantity;
  auto line = u.cart.find(r.product);
  if (line == u.cart.end()) {
    if (a.ok()) fail(r, "a line the cart does not have was changed");
    else expected(r, a.err(), {error_code::not_found});
    return;
  }
  if (!a.ok()) {
    int64_t more = target - line->second;
    if (more <= 0) {
      expected(r, a.err(), {});
    } else if (a.code() == error_code::limit_exceeded && !limit_may_refuse(r.actor, r.product, more)) {
      fail(r, "limit_exceeded below the limit");
    } else {
      expected(r, a.err(), {error_code::out_of_stock, error_code::limit_exceeded});
    }
    return;
  }
  units_by_product want = u.cart;
  if (target == 0) want.erase(r.product);
  else want[r.product] = target;
  check_cart(r, a.value(), want);
  u.cart = std::move(want);
}

units_by_product model::cart_after(const model_user& u) const {
  units_by_product c = u.cart;
  if (!u.in_flight) return c;
  const request& r = *u.in_flight;
  switch (r.what) {
    case op::add_item:
      c[r.product] += r.quantity;
      break;
    case op::set_item:
    case op::remove_item:
      if (!c.count(r.product)) break;
      if (r.what == op::remove_item || r.quantity == 0) c.erase(r.product);
      else c[r.product] = r.quantity;
      break;
    case op::clear_cart:
    case op::place_order:
      c.clear();
      break;
    default:
      break;
  }
  return c;
}

// ---- Orders ----

bool model::expiry_possible(const model_order& o) const {
  return o.expires_at_ms && clock_.now_ms() >= *o.expires_at_ms;
}

bool model::settle_may_pay(const model_order& o) const {
  bool settle = o.settle_may_pay;
  if (gateway_in_flight && gateway_in_flight->settle_succeeded) {
    for (const auto& p : o.awaiting_settle) settle = settle || p == gateway_in_flight->payment_id;
  }
  return settle;
}

bool model::may_show(const std::string& id, order_status status, bool since_durable) const {
  const model_order& o = orders.at(id);
  const order_status from = since_durable && !strict_reads ? o.durable_status : o.status;
  if (status == from) return true;
  const std::optional<request>& mine = users.at(o.user_id).in_flight;
  bool cancel = mine && mine->what == op::cancel && mine->order_id == id;
  bool pay = mine && mine->what == op::pay && mine->order_id == id &&
             sandbox_cards[mine->card].outcome == payment_status::succeeded;
  bool settle = settle_may_pay(o);
  bool pending = from == order_status::pending;
  bool paid_reachable = pending && (pay || settle);
  if (status == order_status::paid) return paid_reachable;
  if (status == order_status::canceled)
    return (pending && expiry_possible(o)) ||
           (cancel && (pending || paid_reachable || from == order_status::paid));
  return false;
}

void model::check_order(const request& r, const order& seen, bool durable) {
  auto it = orders.find(seen.id);
  if (it == orders.end()) return fail(r, "an order the model never saw: " + seen.id);
  model_order& o = it->second;
  if (seen.user_id != o.user_id || units_of_items(seen.items) != o.items || seen.total != o.total)
    fail(r, "order " + seen.id + " changed: items " + units_text(units_of_items(seen.items)) +
                ", placed with " + units_text(o.items));
  if (!may_show(seen.id, seen.status))
    fail(r, "order " + seen.id + " is " + std::string(stampede::to_string(seen.status)) +
                ", last seen " + std::string(stampede::to_string(o.status)));
  o.status = seen.status;
  if (durable) o.durable_status = seen.status;
  // A canceled or paid order shows no deadline; the pending one it may return to keeps its.
  if (seen.expires_at_ms) o.expires_at_ms = seen.expires_at_ms;
  // A read that shows the webhook's paid leaves the durable status pending; an acknowledged
  // webhook must still let a restart show paid, so only a durable answer spends the flag.
  if (durable) o.settle_may_pay = false;
}

void model::order_placed(const request& r, const result<order>& a) {
  model_user& u = users[r.actor];
  if (u.cart.empty()) {
    if (a.ok()) fail(r, "an order from an empty cart");
    else expected(r, a.err(), {error_code::cart_empty});
    return;
  }
  if (!a.ok()) {
    bool limit = false;
    for (const auto& [p, n] : u.cart) limit = limit || limit_may_refuse(r.actor, p, 0);
    if (a.code() == error_code::limit_exceeded && !limit) fail(r, "limit_exceeded below the limit");
    expected(r, a.err(), {error_code::out_of_stock, error_code::limit_exceeded});
    return;
  }
  const order& placed = a.value();
  int64_t subtotal = 0;
  for (const auto& [p, n] : u.cart) subtotal += products[p].price * n;
  if (units_of_items(placed.items) != u.cart)
    fail(r, "ordered " + units_text(units_of_items(placed.items)) + " from cart " + units_text(u.cart));
  if (placed.status != order_status::pending || placed.user_id != r.actor || !placed.expires_at_ms)
    fail(r, "a new order that is not pending, or not the user's, or without a deadline");
  if (placed.total != subtotal + standard_shipping) fail(r, "total " + std::to_string(placed.total));
  if (orders.count(placed.id)) fail(r, "order id " + placed.id + " given twice");
  orders[placed.id] = model_order{r.actor, u.cart, placed.total, order_status::pending, order_status::pending,
                                  placed.expires_at_ms, false, {}};
  u.orders.push_back(placed.id);
  u.cart.clear();
}

void model::payment_answered(const request& r, const result<payment_result>& a) {
  model_order& o = orders.at(r.order_id);
  if (!a.ok()) {
    bool left_pending = o.status != order_status::pending || expiry_possible(o) ||
                        settle_may_pay(o) || may_show(r.order_id, order_status::canceled);
    if (a.code() == error_code::invalid_transition && !left_pending)
      fail(r, "invalid_transition for an order that is pending");
    expected(r, a.err(), {error_code::invalid_transition});
    return;
  }
  const payment_result& pr = a.value();
  payment_status want = sandbox_cards[r.card].outcome;
  bool refunded = want == payment_status::succeeded && pr.pay.status == payment_status::refunded &&
                  may_show(r.order_id, order_status::canceled);
  if (pr.pay.status != want && !refunded)
    fail(r, "payment " + std::string(stampede::to_string(pr.pay.status)) + ", the card says " +
                std::string(stampede::to_string(want)));
  order_status after = want == payment_status::succeeded ? order_status::paid : order_status::pending;
  if (refunded) after = order_status::canceled;
  if (pr.order_now.status != after)
    fail(r, "the order is " + std::string(stampede::to_string(pr.order_now.status)) + " after a " +
                std::string(stampede::to_string(pr.pay.status)) + " payment");
  check_order(r, pr.order_now, true);
  if (pr.pay.status == payment_status::requires_action) o.awaiting_settle.push_back(pr.pay.id);
}

void model::order_answered(const request& r, const result<order>& a) {
  model_order& o = orders.at(r.order_id);
  if (!a.ok()) {
    if (r.what != op::cancel) {
      expected(r, a.err(), {});
      return;
    }
    // Only a canceled order refuses a cancel here (no admin moves it past processing).
    if (a.code() == error_code::invalid_transition && o.status != order_status::canceled &&
        !expiry_possible(o))
      fail(r, "invalid_transition for a cancelable order");
    expected(r, a.err(), {error_code::invalid_transition});
    return;
  }
  if (r.what == op::cancel && a->status != order_status::canceled)
    fail(r, "a canceled order answered as " + std::string(stampede::to_string(a->status)));
  check_order(r, a.value(), r.what == op::cancel);
}

void model::settle_answered(const request& r, const result<ok_t>& a) {
  if (!a.ok()) {
    expected(r, a.err(), {});
    return;
  }
  model_order& o = orders.at(r.order_id);
  auto& waiting = o.awaiting_settle;
  auto it = std::find(waiting.begin(), waiting.end(), r.payment_id);
  if (it == waiting.end()) return;  // a repeated webhook
  waiting.erase(it);
  if (r.settle_succeeded) o.settle_may_pay = true;
}

}  // namespace stampede::sim
