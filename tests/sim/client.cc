#include "tests/sim/client.h"

#include <algorithm>

namespace stampede::sim {

namespace {

constexpr int64_t add_units_max = 3;      // units one add asks for
constexpr int64_t set_units_max = 4;      // a line's quantity one set asks for
constexpr int64_t restock_units_max = 5;  // units one restock adds

// An idempotent answer as the model sees it: no key is sent, so none may be replayed.
template <class T>
result<T> unwrapped(checker& check, const request& r, result<idempotent<T>>& a) {
  if (!a.ok()) return std::move(a).err();
  if (a->replayed) check.fail("answer to " + r.describe() + ": replayed without a key");
  return std::move(a->value);
}

int64_t draw(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

}  // namespace

client::client(world& w, model& m, std::mt19937_64& rng, workload_knobs knobs,
               std::function<void(const std::string&)> trace)
    : world_(w),
      model_(m),
      rng_(rng),
      knobs_(knobs),
      requests_left_(knobs.requests),
      trace_(std::move(trace)) {
  for (int i = 0; i < knobs_.users; ++i) {
    user_ids_.push_back("u" + std::to_string(i));
    model_.users[user_ids_.back()];
  }
}

// The reply of a request: the model checks its answer, then the actor is idle again.
template <class T, class Handler>
auto client::answer_to(request r, Handler handler) {
  return reply<T>(world_.client_io().get_executor(),
                  [this, r = std::move(r), handler](result<T> a) mutable {
                    if (trace_)
                      trace_("answer to " + r.describe() + ": " +
                             (a.ok() ? std::string("ok") : std::string(to_string(a.code()))));
                    handler(r, a);
                    ++answered_;
                    if (r.actor == "setup") --setup_pending_;
                    else if (r.actor == "admin") model_.admin_in_flight.reset();
                    else if (r.actor == "gateway") model_.gateway_in_flight.reset();
                    else model_.users[r.actor].in_flight.reset();
                  });
}

void client::send_setup(const std::vector<product_spec>& products) {
  for (const auto& p : products) {
    product_ids_.push_back(p.id);
    model_.products[p.id] = model_product{p.price, p.max_per_user, 0, false};
    product_create c{p.id, "P " + p.id, "", p.price, {}, p.on_hand, p.max_per_user};
    request r{op::create_product, "setup", p.id};
    ++setup_pending_;
    world_.store().create_product(
        c, answer_to<product_view>(r, [this](const request& r, result<product_view>& a) {
          model_.product_answered(r, a);
        }));
  }
  for (const auto& u : user_ids_) send(request{op::add_address, u});
  requests_left_ = knobs_.requests;
}

bool client::setup_done() const { return setup_pending_ == 0 && in_flight() == 0; }

bool client::can_send() const {
  if (requests_left_ <= 0) return false;
  if (!model_.admin_in_flight) return true;
  for (const auto& [id, u] : model_.users)
    if (!u.in_flight) return true;
  return false;
}

size_t client::in_flight() const {
  size_t n = model_.admin_in_flight.has_value() + model_.gateway_in_flight.has_value();
  for (const auto& [id, u] : model_.users) n += u.in_flight.has_value();
  return n;
}

std::string client::first_in_flight() const {
  if (model_.admin_in_flight) return model_.admin_in_flight->describe();
  if (model_.gateway_in_flight) return model_.gateway_in_flight->describe();
  for (const auto& [id, u] : model_.users)
    if (u.in_flight) return u.in_flight->describe();
  return "none";
}

void client::lose_answers() {
  model_.admin_lost = model_.admin_in_flight.has_value();
  model_.gateway_lost = model_.gateway_in_flight.has_value();
  for (auto& [id, u] : model_.users) u.lost = u.in_flight.has_value();
}

void client::send_one() {
  std::vector<std::string> idle;
  for (const auto& [id, u] : model_.users)
    if (!u.in_flight) idle.push_back(id);
  int side = static_cast<int>(draw(rng_, 0, 99));
  if (!model_.admin_in_flight && (idle.empty() || side < knobs_.weight_admin)) return send_admin();
  if (!model_.gateway_in_flight && side < knobs_.weight_admin + knobs_.weight_settle) {
    for (const auto& [id, o] : model_.orders)
      if (!o.awaiting_settle.empty()) return send_settle();
  }
  if (!idle.empty()) send_user(idle[static_cast<size_t>(draw(rng_, 0, static_cast<int64_t>(idle.size()) - 1))]);
}

void client::send_admin() {
  const std::string& p = product_ids_[static_cast<size_t>(draw(rng_, 0, static_cast<int64_t>(product_ids_.size()) - 1))];
  request r{op::get_product, "admin", p};
  int64_t on_hand = model_.products[p].on_hand;
  int64_t pick = draw(rng_, 0, 9);
  if (pick < 5) {
    r.what = op::adjust_stock;
    r.quantity = draw(rng_, 1, restock_units_max);
  } else if (pick < 8 && on_hand > 0) {
    r.what = op::adjust_stock;
    r.quantity = -draw(rng_, 1, on_hand);
  }
  send(std::move(r));
}

void client::send_settle() {
  std::vector<std::pair<std::string, std::string>> waiting;  // (order, payment)
  for (const auto& [id, o] : model_.orders)
    for (const auto& p : o.awaiting_settle) waiting.emplace_back(id, p);
  auto& [order_id, payment_id] = waiting[static_cast<size_t>(draw(rng_, 0, static_cast<int64_t>(waiting.size()) - 1))];
  request r{op::settle, "gateway"};
  r.order_id = order_id;
  r.payment_id = payment_id;
  r.settle_succeeded = draw(rng_, 0, 2) != 0;
  send(std::move(r));
}

// One of the user's orders at random (pending ones only if asked); false if none.
bool client::pick_order(const model_user& u, bool pending_only, std::string& id) {
  std::vector<std::string> fit;
  for (const auto& o : u.orders)
    if (!pending_only || model_.orders[o].status == order_status::pending) fit.push_back(o);
  if (fit.empty()) return false;
  id = fit[static_cast<size_t>(draw(rng_, 0, static_cast<int64_t>(fit.size()) - 1))];
  return true;
}

void client::send_user(const std::string& user) {
  const model_user& u = model_.users[user];
  if (u.address_id.empty()) return send(request{op::add_address, user});
  request r{op::get_cart, user};
  r.product = product_ids_[static_cast<size_t>(draw(rng_, 0, static_cast<int64_t>(product_ids_.size()) - 1))];
  if (draw(rng_, 0, 99) < knobs_.hot_percent) r.product = product_ids_.front();
  int total = knobs_.weight_cart + knobs_.weight_checkout + knobs_.weight_pay + knobs_.weight_cancel +
              knobs_.weight_read;
  int pick = static_cast<int>(draw(rng_, 0, total - 1));
  if ((pick -= knobs_.weight_cart) < 0) {
    int64_t kind = draw(rng_, 0, 9);
    r.what = kind < 6 ? op::add_item : kind < 8 ? op::set_item : kind < 9 ? op::remove_item : op::clear_cart;
    r.quantity = r.what == op::add_item ? draw(rng_, 1, add_units_max) : draw(rng_, 0, set_units_max);
    if (r.what != op::add_item && !u.cart.empty() && draw(rng_, 0, 3) != 0)
      r.product = std::next(u.cart.begin(), draw(rng_, 0, static_cast<int64_t>(u.cart.size()) - 1))->first;
  } else if ((pick -= knobs_.weight_checkout) < 0) {
    r.what = op::place_order;
  } else if ((pick -= knobs_.weight_pay) < 0) {
    if (pick_order(u, true, r.order_id)) r.what = op::pay;
    r.card = static_cast<int>(draw(rng_, 0, sandbox_card_count - 1));
  } else if ((pick -= knobs_.weight_cancel) < 0) {
    if (pick_order(u, false, r.order_id)) r.what = op::cancel;
  } else if (pick_order(u, false, r.order_id)) {
    r.what = op::get_order;
  }
  if (r.what != op::add_item && r.what != op::set_item && r.what != op::remove_item) r.product.clear();
  send(std::move(r));
}

}  // namespace stampede::sim

namespace stampede::sim {

// Sends `r` as the server would, marking its actor busy until the answer.
void client::send(request r) {
  if (r.actor == "admin") model_.admin_in_flight = r;
  else if (r.actor == "gateway") model_.gateway_in_flight = r;
  else model_.users[r.actor].in_flight = r;
  if (requests_left_ > 0) --requests_left_;
  if (trace_) trace_("send " + r.describe());
  switch (r.what) {
    case op::add_address:
    case op::add_item:
    case op::set_item:
    case op::remove_item:
    case op::clear_cart:
    case op::get_cart:
      return send_cart(std::move(r));
    case op::place_order:
    case op::pay:
    case op::cancel:
    case op::get_order:
    case op::settle:
      return send_order(std::move(r));
    case op::create_product:
    case op::adjust_stock:
    case op::get_product:
      return send_product(std::move(r));
  }
}

void client::send_cart(request r) {
  engine& e = world_.store();
  auto cart = [this](const request& r, result<cart_view>& a) { model_.cart_answered(r, a); };
  switch (r.what) {
    case op::add_address: {
      address a{"", "N " + r.actor, "1 Main St", "", "City", "", "12345", "GB", ""};
      return e.add_address(r.actor, a, answer_to<address>(r, [this](const request& r, result<address>& a) {
        model_.address_answered(r, a.ok() ? result<std::string>(a->id) : result<std::string>(a.err()));
      }));
    }
    case op::add_item:
      return e.add_item(r.actor, r.product, r.quantity, std::nullopt,
                        answer_to<idempotent<cart_view>>(r, [this](const request& r, auto& a) {
                          model_.cart_answered(r, unwrapped(model_.check(), r, a));
                        }));
    case op::set_item:
      return e.set_item(r.actor, r.product, r.quantity, answer_to<cart_view>(r, cart));
    case op::remove_item:
      return e.remove_item(r.actor, r.product, answer_to<cart_view>(r, cart));
    case op::clear_cart:
      return e.clear_cart(r.actor, answer_to<cart_view>(r, cart));
    default:
      return e.get_cart(r.actor, answer_to<cart_view>(r, cart));
  }
}

void client::send_order(request r) {
  engine& e = world_.store();
  auto seen = [this](const request& r, result<order>& a) { model_.order_answered(r, a); };
  switch (r.what) {
    case op::place_order: {
      checkout_request c{model_.users[r.actor].address_id, "", "standard"};
      return e.place_order(r.actor, c, std::nullopt,
                           answer_to<idempotent<order>>(r, [this](const request& r, auto& a) {
                             model_.order_placed(r, unwrapped(model_.check(), r, a));
                           }));
    }
    case op::pay: {
      const sandbox_card& card = sandbox_cards[r.card];
      payment_request p{card.method, model_.orders[r.order_id].total, {card.number, 12, 2030, "123"}};
      if (p.method == "paypal") p.card = {};
      return e.pay_order(r.order_id, r.actor, p, std::nullopt,
                         answer_to<idempotent<payment_result>>(r, [this](const request& r, auto& a) {
                           model_.payment_answered(r, unwrapped(model_.check(), r, a));
                         }));
    }
    case op::cancel:
      return e.cancel_order(r.order_id, r.actor, false, answer_to<order>(r, seen));
    case op::settle:
      return e.settle_payment(
          r.payment_id, r.settle_succeeded ? payment_status::succeeded : payment_status::failed,
          r.settle_succeeded ? "" : "card_declined",
          answer_to<ok_t>(r, [this](const request& r, result<ok_t>& a) { model_.settle_answered(r, a); }));
    default:
      return e.get_order(r.order_id, r.actor, false, answer_to<order>(r, seen));
  }
}

void client::send_product(request r) {
  engine& e = world_.store();
  auto seen = [this](const request& r, result<product_view>& a) { model_.product_answered(r, a); };
  if (r.what == op::adjust_stock) return e.adjust_stock(r.product, r.quantity, answer_to<product_view>(r, seen));
  e.get_product(r.product, true, answer_to<product_view>(r, seen));
}

}  // namespace stampede::sim
