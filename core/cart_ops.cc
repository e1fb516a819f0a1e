#include "core/cart_ops.h"

#include "core/drop_user_ops.h"
#include "core/shard.h"

namespace stampede::cart_ops {

namespace {

// Adding to a line, or setting it to a quantity.
enum class line_change : uint8_t { add, set };
// The line's new cart (or why not), and the stock the change freed.
using line_done = absl::AnyInvocable<void(user_turn, result<cart_view>, std::vector<stock_move>)>;

// Held units per product of a cart.
absl::flat_hash_map<std::string, int64_t> held_units(const cart& c) {
  absl::flat_hash_map<std::string, int64_t> out;
  for (const auto& l : c.lines)
    if (l.held) out[l.product_id] += l.quantity;
  return out;
}

void renew_holds(const shard& s, cart& c) {
  c.held_until_ms = c.any_held() ? s.now_ms() + s.config().hold_ttl_ms : 0;
}

// Records the cart `next` in place of the user's and returns the releases of the units the
// old cart held and `next` does not (for shard::free_stock: never before the record is
// durable, or a crash could lose the change and keep the release).
[[nodiscard]] std::vector<stock_move> replace_cart(shard& s, user_record& u, cart next) {
  auto was = held_units(u.basket);
  s.record(cart_replaced{u.id, std::move(next)});
  auto now = held_units(u.basket);
  std::vector<stock_move> freed;
  for (auto& [product_id, units] : was) {
    auto it = now.find(product_id);
    int64_t still = it == now.end() ? 0 : it->second;
    if (units > still) freed.push_back(stock_move{stock_move::kind::release, product_id, units - still});
  }
  return freed;
}

// Answers with the cart once it is durable and the stock it freed is back on the products'
// shards; the user's turn (their next request, a read of the product after this answer)
// waits as long, so nobody who saw the answer can see the units still held.
void answer_after(shard& s, user_turn turn, cart_view view, std::vector<stock_move> freed,
                  absl::AnyInvocable<void(cart_view)> answer) {
  auto send = [view = std::move(view), answer = std::move(answer)]() mutable {
    answer(std::move(view));
  };
  if (freed.empty()) return s.when_answerable(std::move(send));
  s.free_stock(std::move(freed), [turn = std::move(turn), send = std::move(send)]() mutable {
    send();
  });
}

// A line gets fewer units (or as many): nothing to ask of the product's shard.
void shrink_line(shard& s, user_turn turn, const std::string& product_id, int64_t target,
                 line_done done) {
  cart next = turn->basket;
  if (target == 0) {
    std::erase_if(next.lines, [&](const cart_line& l) { return l.product_id == product_id; });
  } else {
    next.find(product_id)->quantity = target;
  }
  renew_holds(s, next);
  auto freed = replace_cart(s, turn.user(), std::move(next));
  cart_view view = view_of(turn->basket);
  done(std::move(turn), std::move(view), std::move(freed));
}

// A line gets more units: the product's shard grants them (or refuses) first.
void grow_line(shard& s, user_turn turn, std::string product_id, int64_t target,
               const take_pass& pass, line_done done) {
  const cart_line* line = turn->basket.find(product_id);
  int64_t current = line ? line->quantity : 0;
  int64_t increase = target - current;
  // A held line needs only the added units; a lapsed one needs them all again.
  stock_ask ask{product_id, line && line->held ? increase : target, true, increase,
                turn->units_already(product_id)};
  ask.set_pass(pass);
  int64_t already = ask.already;
  int64_t taking = ask.units;
  auto granted = [&s, turn = std::move(turn), product_id, target, already, taking, pass,
                  done = std::move(done)](std::vector<stock_answer> answers) mutable {
    const stock_answer& a = answers[0];
    if (a.refused) {
      error refused = stock_refusal(*a.refused, product_id, a, already);
      return done(std::move(turn), std::move(refused), {});
    }
    cart next = turn->basket;
    cart_line* l = next.find(product_id);
    if (!l) l = &next.lines.emplace_back(cart_line{product_id, {}, 0, 0, false});
    l->name = a.name;
    l->unit_price = a.unit_price;
    l->quantity = target;
    l->held = true;
    renew_holds(s, next);
    if (!s.try_record(cart_replaced{turn->id, std::move(next)})) {
      // Never recorded: the units go back at once.
      s.exchange().move(stock_move::kind::release, product_id, taking);
      return done(std::move(turn), too_large_to_store(), {});
    }
    // Spent only by a product of its drop: a storefront may send the header with every add.
    if (a.drop_id() == pass.drop_id) drop_user_ops::admission_taken(s, turn->id, pass);
    cart_view view = view_of(turn->basket);
    done(std::move(turn), std::move(view), {});
  };
  std::vector<stock_ask> asks;  // not {ask}: an initializer list copies, and an ask moves only
  asks.push_back(std::move(ask));
  s.exchange().ask(std::move(asks), s.now_ms(), std::move(granted));
}

void change_line(shard& s, user_turn turn, std::string product_id, int64_t quantity,
                 line_change how, const take_pass& pass, line_done done) {
  const cart_line* line = turn->basket.find(product_id);
  if (how == line_change::set && !line)
    return done(std::move(turn), make_error(error_code::not_found, "no such cart line"), {});
  if (!line && turn->basket.lines.size() >= limits::cart_lines_max) {
    return done(std::move(turn),
                make_error(error_code::invalid_request, "a cart holds at most " +
                                                            std::to_string(limits::cart_lines_max) +
                                                            " lines"),
                {});
  }
  int64_t current = line ? line->quantity : 0;
  int64_t target = how == line_change::add ? current + quantity : quantity;
  if (target > limits::quantity_max) {
    return done(std::move(turn),
                field_error("quantity", "a cart line holds at most " +
                                            std::to_string(limits::quantity_max) + " units"),
                {});
  }
  if (target <= current) return shrink_line(s, std::move(turn), product_id, target, std::move(done));
  grow_line(s, std::move(turn), std::move(product_id), target, pass, std::move(done));
}

}  // namespace

cart_view priced_now(const cart& c, const std::vector<stock_answer>& answers) {
  cart_view v = view_of(c);
  v.subtotal = 0;
  for (size_t i = 0; i < v.items.size(); ++i) {
    auto& item = v.items[i];
    if (i < answers.size() && !answers[i].name.empty()) {  // empty: the product is gone
      item.name = answers[i].name;
      item.unit_price = answers[i].unit_price;
      item.line_total = item.unit_price * item.quantity;
    }
    v.subtotal += item.line_total;
  }
  return v;
}

void get_cart(shard& s, const std::string& user_id, reply<cart_view> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [](user_turn turn, reply<cart_view> done) { done(view_of(turn->basket)); });
}

void add_item(shard& s, const std::string& user_id, std::string product_id, int64_t quantity,
              std::optional<std::string> idempotency_key, std::optional<std::string> admission,
              reply<idempotent<cart_view>> done) {
  if (quantity < limits::quantity_min || quantity > limits::quantity_max)
    return done(field_error("quantity", "quantity must be an integer " +
                                            std::to_string(limits::quantity_min) + ".." +
                                            std::to_string(limits::quantity_max)));
  if (!is_valid_product_id(product_id))
    return done(make_error(error_code::not_found, "no such product"));
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, product_id = std::move(product_id), quantity,
                       key = std::move(idempotency_key),
                       admission = std::move(admission)](user_turn turn, auto done) mutable {
    std::optional<idempotency_scope> scope;
    if (key) {
      scope = add_item_scope(*key, product_id, quantity);
      if (answered_from(s, s.idempotency().check(turn->id, *scope, s.now_ms()), done)) return;
    }
    auto finished = [&s, scope = std::move(scope), done = std::move(done)](
                        user_turn turn, result<cart_view> r, std::vector<stock_move> freed) mutable {
      if (!r.ok()) return done(std::move(r).err());
      if (scope) s.record(kept_cart_now(turn->id, *scope, s.now_ms()));
      answer_after(s, std::move(turn), std::move(r).value(), std::move(freed),
                   [done = std::move(done)](cart_view view) mutable {
                     done(idempotent<cart_view>{std::move(view), false});
                   });
    };
    take_pass pass = drop_user_ops::pass_of(s, turn->id, admission);
    change_line(s, std::move(turn), product_id, quantity, line_change::add, pass,
                std::move(finished));
  });
}

void set_item(shard& s, const std::string& user_id, std::string product_id, int64_t quantity,
              std::optional<std::string> admission, reply<cart_view> done) {
  if (quantity < 0 || quantity > limits::quantity_max)
    return done(field_error("quantity", "quantity must be an integer 0.." +
                                            std::to_string(limits::quantity_max)));
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, product_id = std::move(product_id), quantity,
                       admission = std::move(admission)](user_turn turn, auto done) mutable {
    auto finished = [&s, done = std::move(done)](user_turn turn, result<cart_view> r,
                                                 std::vector<stock_move> freed) mutable {
      if (!r.ok()) return done(std::move(r).err());
      answer_after(s, std::move(turn), std::move(r).value(), std::move(freed),
                   [done = std::move(done)](cart_view view) mutable { done(std::move(view)); });
    };
    take_pass pass = drop_user_ops::pass_of(s, turn->id, admission);
    change_line(s, std::move(turn), product_id, quantity, line_change::set, pass,
                std::move(finished));
  });
}

void remove_item(shard& s, const std::string& user_id, std::string product_id,
                 reply<cart_view> done) {
  set_item(s, user_id, std::move(product_id), 0, std::nullopt, std::move(done));
}

void clear_cart(shard& s, const std::string& user_id, reply<cart_view> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s](user_turn turn, reply<cart_view> done) {
    std::vector<stock_move> freed;
    if (!turn->basket.lines.empty()) freed = replace_cart(s, turn.user(), cart{});
    cart_view view = view_of(turn->basket);
    answer_after(s, std::move(turn), std::move(view), std::move(freed),
                 [done = std::move(done)](cart_view view) mutable { done(std::move(view)); });
  });
}

void lapse_holds_due(shard& s, int64_t now_ms) {
  for (std::string& user_id : s.users().take_lapsed_holds(now_ms)) {
    s.users().with_user(user_id, [&s](user_turn turn) {
      const cart& c = turn->basket;
      if (c.held_until_ms == 0 || c.held_until_ms > s.now_ms()) return;
      cart next = c;
      for (auto& l : next.lines) l.held = false;
      next.held_until_ms = 0;
      // The user's next request (a read of the cart) waits until the units are back.
      auto freed = replace_cart(s, turn.user(), std::move(next));
      s.free_stock(std::move(freed), [turn = std::move(turn)] {});
    });
  }
}

}  // namespace stampede::cart_ops
