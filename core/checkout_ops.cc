#include "core/checkout_ops.h"

#include "core/cart_ops.h"
#include "core/drop_user_ops.h"
#include "core/events.h"
#include "core/shard.h"

namespace stampede::checkout_ops {

namespace {

// What a request names, found. The addresses stay put while the user's turn is held; the
// method is a copy (an admin may replace the store's methods meanwhile).
struct inputs {
  const address* ship = nullptr;
  const address* bill = nullptr;
  std::optional<shipping_method> method;
};

const address* find_address(const user_record& u, const std::string& id) {
  for (const auto& a : u.addresses)
    if (a.id == id) return &a;
  return nullptr;
}

result<inputs> resolve(const shard& s, const user_record& u, const checkout_request& req) {
  inputs in;
  in.ship = req.shipping_address_id.empty() ? nullptr : find_address(u, req.shipping_address_id);
  if (!req.shipping_address_id.empty() && !in.ship)
    return field_error("shipping_address_id", "no such address for this customer");
  const std::string& bill_id =
      req.billing_address_id.empty() ? req.shipping_address_id : req.billing_address_id;
  in.bill = bill_id.empty() ? nullptr : find_address(u, bill_id);
  if (!bill_id.empty() && !in.bill)
    return field_error("billing_address_id", "no such address for this customer");
  for (const auto& m : s.shipping_methods())
    if (m.id == req.shipping_method) in.method = m;
  if (!req.shipping_method.empty() && !in.method)
    return field_error("shipping_method", "no such shipping method");
  return in;
}

// One ask per cart line: lapsed lines need their units again (taken at checkout, only
// looked at for a preview); held lines only the sale window and the limit, which counts
// the units in the user's live orders. At checkout (`ship`) each line also counts against
// its product's max_per_address, by the normalized shipping address, on the product's
// shard: the one place two accounts racing with one address are told apart.
std::vector<stock_ask> asks_for(const user_record& u, bool take, const address* ship = nullptr) {
  std::vector<stock_ask> asks;
  asks.reserve(u.basket.lines.size());
  std::string key = ship ? address_key(*ship) : std::string();
  for (const auto& l : u.basket.lines) {
    asks.push_back(stock_ask{l.product_id, l.held ? 0 : l.quantity, take, l.quantity,
                             u.units_in_orders(l.product_id)});
    if (ship) {
      ask_terms& t = asks.back().set_terms();
      t.limit = limit_scope::address;
      t.limit_key = key;
    }
  }
  return asks;
}

checkout_summary summarize(const shard& s, const user_record& u, const inputs& in,
                           const std::vector<stock_answer>& answers) {
  checkout_summary out;
  // Priced as the order would charge it (build_order): the products' prices now.
  out.cart = cart_ops::priced_now(u.basket, answers);
  if (in.ship) out.shipping_address = *in.ship;
  if (in.bill) out.billing_address = *in.bill;
  out.method = in.method;
  out.shipping = in.method && !u.basket.lines.empty() ? in.method->price : 0;
  out.total = out.cart.subtotal + out.shipping;
  out.methods = s.shipping_methods();
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].refused) continue;
    error_code c = *answers[i].refused;
    if (c == error_code::not_found) c = error_code::out_of_stock;
    // The units the product has now, whatever refused the line (0 for one gone).
    out.problems.push_back({u.basket.lines[i].product_id, c, answers[i].available});
  }
  out.ready = !out.cart.items.empty() && out.problems.empty() && out.shipping_address && out.method;
  return out;
}

// What refuses an order before any stock is asked, in API.md's order.
std::optional<error> input_refusal(const user_record& u, const checkout_request& req) {
  if (u.basket.lines.empty()) return make_error(error_code::cart_empty, "the cart is empty");
  if (u.order_ids.size() >= limits::orders_per_user_max)
    return make_error(error_code::invalid_request, "this customer has too many orders");
  if (req.shipping_address_id.empty())
    return field_error("shipping_address_id", "shipping_address_id is required");
  if (req.shipping_method.empty())
    return field_error("shipping_method", "shipping_method is required");
  return std::nullopt;
}

// API.md's order at checkout: sale_*, then limit_exceeded (a customer's, an address's),
// then out_of_stock (every short line at once).
std::optional<error> stock_refusal_of(const user_record& u,
                                      const std::vector<stock_answer>& answers) {
  const auto& lines = u.basket.lines;
  // A drop's product without an admission (a lapsed hold taken again) answers first.
  for (error_code first :
       {error_code::not_admitted, error_code::sale_not_started, error_code::limit_exceeded}) {
    for (size_t i = 0; i < answers.size(); ++i) {
      auto c = answers[i].refused;
      bool match = c && (*c == first || (first == error_code::sale_not_started &&
                                         *c == error_code::sale_ended));
      if (match)
        return stock_refusal(*c, lines[i].product_id, answers[i],
                             u.units_in_orders(lines[i].product_id));
    }
  }
  error_details d;
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i].refused) d.items.push_back({lines[i].product_id, answers[i].available});
  if (d.items.empty()) return std::nullopt;
  std::string message = "not enough stock for " + std::to_string(d.items.size()) + " item(s)";
  return make_error(error_code::out_of_stock, std::move(message), std::move(d));
}

order build_order(std::string id, const user_record& u, const std::vector<stock_answer>& answers,
                  const inputs& in, int64_t now_ms, int64_t payment_ttl_ms) {
  const auto& lines = u.basket.lines;
  order o;
  o.id = std::move(id);
  o.user_id = u.id;
  o.items.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& a = answers[i];
    o.items.push_back(order_item{lines[i].product_id, a.name, a.unit_price, lines[i].quantity,
                                 a.unit_price * lines[i].quantity});
    o.subtotal += a.unit_price * lines[i].quantity;
  }
  o.method = *in.method;
  o.shipping = in.method->price;
  o.total = o.subtotal + o.shipping;
  o.shipping_address = *in.ship;
  o.billing_address = *in.bill;
  o.expires_at_ms = now_ms + payment_ttl_ms;
  o.history.push_back({order_status::pending, now_ms});
  o.created_at_ms = now_ms;
  o.updated_at_ms = now_ms;
  return o;
}

// Gives back what a refused attempt took and counted; it was never recorded, so no need
// to wait.
void give_back(shard& s, const user_record& u, const std::vector<stock_answer>& answers,
               const std::string& address) {
  const auto& lines = u.basket.lines;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].reserved)
      s.exchange().move(stock_move::kind::release, lines[i].product_id, lines[i].quantity);
    if (answers[i].limit_counted())
      s.exchange().release_limit(lines[i].product_id, limit_scope::address, address,
                                 lines[i].quantity);
  }
}

// The commit point: the order is recorded and the cart emptied in one effect; the holds
// become committed stock on the products' shards.
void commit(shard& s, user_turn turn, order o, const std::vector<stock_answer>& answers,
            const std::optional<idempotency_scope>& scope, reply<idempotent<order>> done) {
  std::string id = o.id;
  std::string address = address_key(o.shipping_address);
  if (!s.try_record(order_placed{std::move(o)})) {
    give_back(s, turn.user(), answers, address);
    return done(too_large_to_store());
  }
  drop_user_ops::tell_conversions(s, turn->id, answers);
  const order& stored = *s.orders().find(id);
  for (const auto& item : stored.items)
    s.exchange().move(stock_move::kind::commit, item.product_id, item.quantity);
  events::notify(s, turn.user(), stored, "order.created");
  if (scope) s.record(kept_answer(turn->id, *scope, s.now_ms(), stored));
  s.when_answerable([answer = stored, done = std::move(done)]() mutable {
    done(idempotent<order>{std::move(answer), false});
  });
}

}  // namespace

void preview(shard& s, const std::string& user_id, checkout_request req,
             reply<checkout_summary> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, req = std::move(req)](user_turn turn, auto done) {
    auto in = resolve(s, turn.user(), req);
    if (!in.ok()) return done(std::move(in).err());
    auto asks = asks_for(turn.user(), /*take=*/false);
    s.exchange().ask(std::move(asks), s.now_ms(),
                     [&s, turn = std::move(turn), in = std::move(in).value(),
                      done = std::move(done)](std::vector<stock_answer> answers) mutable {
                       done(summarize(s, turn.user(), in, answers));
                     });
  });
}

void place_order(shard& s, const std::string& user_id, checkout_request req,
                 std::optional<std::string> idempotency_key, reply<idempotent<order>> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, req = std::move(req), key = std::move(idempotency_key)](
                          user_turn turn, auto done) mutable {
    std::optional<idempotency_scope> scope;
    if (key) {
      scope = place_order_scope(*key, req.shipping_address_id, req.billing_address_id,
                                req.shipping_method);
      if (answered_from(s, s.idempotency().check(turn->id, *scope, s.now_ms()), done)) return;
    }
    if (auto refused = input_refusal(turn.user(), req)) return done(std::move(*refused));
    auto in = resolve(s, turn.user(), req);
    if (!in.ok()) return done(std::move(in).err());
    auto asks = asks_for(turn.user(), /*take=*/true, in->ship);
    s.exchange().ask(std::move(asks), s.now_ms(),
                     [&s, turn = std::move(turn), in = std::move(in).value(),
                      scope = std::move(scope), email = std::move(req.email),
                      done = std::move(done)](std::vector<stock_answer> answers) mutable {
      if (auto refused = stock_refusal_of(turn.user(), answers)) {
        give_back(s, turn.user(), answers, address_key(*in.ship));
        return done(std::move(*refused));
      }
      order o = build_order(s.next_id("ord_", turn->id), turn.user(), answers, in, s.now_ms(),
                            s.config().payment_ttl_ms);
      o.email = std::move(email);
      commit(s, std::move(turn), std::move(o), answers, scope, std::move(done));
    });
  });
}

}  // namespace stampede::checkout_ops
