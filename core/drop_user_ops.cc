#include "core/drop_user_ops.h"

#include <algorithm>

#include "core/drop_ops.h"
#include "core/drop_product_ops.h"
#include "core/events.h"
#include "core/shard.h"
#include "core/stock_exchange.h"

namespace stampede::drop_user_ops {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Lines to hold in a cart: (product, units).
using grants = std::vector<std::pair<std::string, int64_t>>;

// One ask per line, as the engine's own take with `pass`: a held line grows by the units; a
// lapsed one (its units went back) is replaced by them.
std::vector<stock_ask> asks_for(const user_record& u, const grants& lines, const take_pass& pass) {
  std::vector<stock_ask> asks;
  for (const auto& [product_id, units] : lines) {
    const cart_line* l = u.basket.find(product_id);
    int64_t kept = l && l->held ? l->quantity : 0;
    stock_ask a{product_id, units, true, units, u.units_in_orders(product_id) + kept};
    a.set_pass(pass);
    asks.push_back(std::move(a));
  }
  return asks;
}

// Every line granted: the cart with them held (every held line renewed), recorded.
void hold_granted(shard& s, user_turn& turn, const grants& lines,
                  const std::vector<stock_answer>& answers) {
  cart next = turn->basket;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& [product_id, units] = lines[i];
    cart_line* l = next.find(product_id);
    if (!l) l = &next.lines.emplace_back(cart_line{product_id, {}, 0, 0, false});
    l->quantity = l->held ? l->quantity + units : units;
    l->name = answers[i].name;
    l->unit_price = answers[i].unit_price;
    l->held = true;
  }
  next.held_until_ms = s.now_ms() + s.config().hold_ttl_ms;
  s.record(cart_replaced{turn->id, std::move(next)});
}

// Puts `lines` in the user's cart as held lines, all or nothing, then done(held until) or
// done(the first refusal); what one line took is given back if another is refused.
void hold_lines(shard& s, user_turn turn, grants lines, take_pass pass,
                absl::AnyInvocable<void(user_turn, result<int64_t>)> done) {
  size_t new_lines = 0;
  for (const auto& [product_id, units] : lines) new_lines += turn->basket.find(product_id) ? 0 : 1;
  if (turn->basket.lines.size() + new_lines > limits::cart_lines_max)
    return done(std::move(turn), make_error(error_code::invalid_request, "the cart is full"));
  auto asks = asks_for(turn.user(), lines, pass);
  s.exchange().ask(std::move(asks), s.now_ms(),
                   [&s, turn = std::move(turn), lines = std::move(lines),
                    done = std::move(done)](std::vector<stock_answer> answers) mutable {
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!answers[i].refused) continue;
      // Nothing was recorded: what the other lines took goes back at once.
      for (size_t j = 0; j < answers.size(); ++j)
        if (answers[j].reserved)
          s.exchange().move(stock_move::kind::release, lines[j].first, lines[j].second);
      error refused = stock_refusal(*answers[i].refused, lines[i].first, answers[i],
                                    turn->units_already(lines[i].first));
      return done(std::move(turn), std::move(refused));
    }
    hold_granted(s, turn, lines, answers);
    int64_t until = turn->basket.held_until_ms;
    done(std::move(turn), until);
  });
}

notification drop_note(shard& s, const user_record& u, std::string event, std::string drop_id,
                       std::string product_id) {
  notification n;
  n.id = s.next_id("ntf_", u.id);
  n.message = std::string(message_for(event));
  n.event = std::move(event);
  n.drop_id = std::move(drop_id);
  n.product_id = std::move(product_id);
  n.created_at_ms = s.now_ms();
  return n;
}

// Sends fn(drop's shard) once what this shard recorded so far is durable.
template <class F>
void tell_drop_when_durable(shard& s, uint32_t drop_shard, F fn) {
  s.when_durable([&s, drop_shard, fn = std::move(fn)]() mutable {
    s.send(drop_shard, shard_task{std::move(fn)});
  });
}

// Gives back what `o` counted under `scope` and `key` on its products' shards.
void release(shard& s, const order& o, limit_scope scope, const std::string& key) {
  for (const auto& item : o.items) s.exchange().release_limit(item.product_id, scope, key, item.quantity);
}

// Every product in a live order of `u` placed at or after `drawn_at_ms`: a draw product
// cannot be added but by a win, so such an order is the win's. One from before (the user
// bought it earlier) is not: a grant then meets max_per_user like any take, and the entry
// is lost rather than won.
bool ordered_since(const shard& s, const user_record& u, const std::vector<std::string>& product_ids,
                   int64_t drawn_at_ms) {
  return std::all_of(product_ids.begin(), product_ids.end(), [&](const std::string& p) {
    return std::any_of(u.order_ids.begin(), u.order_ids.end(), [&](const std::string& id) {
      const order* o = s.orders().find(id);
      return o && holds_stock(o->status) && o->created_at_ms >= drawn_at_ms &&
             std::any_of(o->items.begin(), o->items.end(),
                         [&](const order_item& item) { return item.product_id == p; });
    });
  });
}

}  // namespace

take_pass pass_of(const shard& s, const std::string& user_id,
                  const std::optional<std::string>& token) {
  if (!token) return {};
  auto a = s.signer().verify(*token, user_id, s.now_ms());
  if (!a.ok()) return {};
  return take_pass{take_pass::kind::admission, std::move(a.value().drop_id)};
}

void admission_taken(shard& s, const std::string& user_id, const take_pass& pass) {
  if (pass.what != take_pass::kind::admission) return;
  tell_drop_when_durable(s, s.routes().drop_shard(pass.drop_id),
                         [user_id, drop_id = pass.drop_id](shard& ds) {
                           drop_ops::admission_used(ds, drop_id, user_id);
                         });
}

void tell_conversions(shard& s, const std::string& user_id,
                      const std::vector<stock_answer>& answers) {
  std::vector<std::string> told;
  for (const auto& a : answers) {
    std::string drop_id(a.drop_id());
    if (drop_id.empty() || contains(told, drop_id)) continue;
    told.push_back(drop_id);
    tell_drop_when_durable(s, s.routes().drop_shard(drop_id),
                           [user_id, drop_id](shard& ds) {
                             drop_ops::converted(ds, drop_id, user_id);
                           });
  }
}

void notify(shard& s, const std::string& user_id, std::string event, std::string drop_id,
            std::string product_id) {
  s.users().with_user(user_id, [&s, event = std::move(event), drop_id = std::move(drop_id),
                                product_id = std::move(product_id)](user_turn turn) mutable {
    events::notify_user(s, turn.user(),
                        drop_note(s, turn.user(), std::move(event), std::move(drop_id),
                                  std::move(product_id)));
  });
}

void place_win(shard& s, std::string user_id, std::string drop_id,
               std::vector<std::string> product_ids, int64_t drawn_at_ms, uint32_t drop_shard) {
  s.users().with_user(user_id, [&s, drop_id = std::move(drop_id), product_ids = std::move(product_ids),
                                drawn_at_ms, drop_shard](user_turn turn) mutable {
    auto answer = [&s, drop_id, drop_shard](user_turn turn, result<int64_t> r) {
      if (r.ok() && r.value() > 0)
        events::notify_user(s, turn.user(), drop_note(s, turn.user(), "drop.won", drop_id, ""));
      tell_drop_when_durable(s, drop_shard, [user = turn->id, drop_id, r = std::move(r)](shard& ds) {
        drop_ops::grant_answered(ds, drop_id, user, r);
      });
    };
    // A pick made again after a restart: the win is in the cart, or ordered, already.
    bool held = std::all_of(product_ids.begin(), product_ids.end(), [&](const std::string& p) {
      const cart_line* l = turn->basket.find(p);
      return l && l->held;
    });
    bool ordered = ordered_since(s, turn.user(), product_ids, drawn_at_ms);
    if (held || ordered) {
      int64_t until = ordered ? 0 : turn->basket.held_until_ms;
      return answer(std::move(turn), until);
    }
    grants lines;
    for (const auto& p : product_ids) lines.emplace_back(p, 1);
    hold_lines(s, std::move(turn), std::move(lines), take_pass{take_pass::kind::draw_grant, drop_id},
               std::move(answer));
  });
}

void check_win_hold(shard& s, std::string user_id, std::string drop_id,
                    std::vector<std::string> product_ids, int64_t drawn_at_ms, uint32_t drop_shard) {
  s.users().with_user(user_id, [&s, drop_id = std::move(drop_id), product_ids = std::move(product_ids),
                                drawn_at_ms, drop_shard](user_turn turn) {
    drop::hold_outcome outcome = drop::hold_outcome::lapsed;
    int64_t until = 0;
    const cart& c = turn->basket;
    bool ordered = ordered_since(s, turn.user(), product_ids, drawn_at_ms);
    bool held = c.held_until_ms > s.now_ms() &&
                std::all_of(product_ids.begin(), product_ids.end(), [&](const std::string& p) {
                  const cart_line* l = c.find(p);
                  return l && l->held;
                });
    if (ordered) {
      outcome = drop::hold_outcome::ordered;
    } else if (held) {
      outcome = drop::hold_outcome::held;
      until = c.held_until_ms;
    }
    s.send(drop_shard, shard_task{[user = turn->id, drop_id, outcome, until](shard& ds) {
             drop_ops::hold_checked(ds, drop_id, user, outcome, until);
           }});
  });
}

void send_offer(shard& s, const std::string& user_id, const std::string& product_id,
                int64_t quantity) {
  uint32_t product_shard = s.index();
  s.send(s.routes().user_shard(user_id), shard_task{[user_id, product_id, quantity,
                                                     product_shard](shard& us) {
    us.users().with_user(user_id, [&us, product_id, quantity, product_shard](user_turn turn) {
      auto answer = [&us, product_id, product_shard](user_turn turn, result<int64_t> r) {
        std::optional<error_code> refused;
        if (r.ok()) {
          events::notify_user(us, turn.user(),
                              drop_note(us, turn.user(), "waitlist.offered", "", product_id));
        } else {
          refused = r.code();
        }
        tell_drop_when_durable(us, product_shard, [user = turn->id, product_id, refused](shard& ps) {
          drop_product_ops::offer_answered(ps, product_id, user, refused);
        });
      };
      hold_lines(us, std::move(turn), {{product_id, quantity}},
                 take_pass{take_pass::kind::waitlist_offer, ""}, std::move(answer));
    });
  }});
}

void count_card(shard& s, user_turn turn, const order& o, const std::string& fingerprint,
                absl::AnyInvocable<void(user_turn, result<bool>)> then) {
  if (contains(counted_cards(o), fingerprint)) return then(std::move(turn), false);
  std::vector<stock_ask> asks;
  for (const auto& item : o.items) {
    stock_ask a{item.product_id, 0, false, item.quantity, 0};
    ask_terms& t = a.set_terms();
    t.limit = limit_scope::card;
    t.limit_key = fingerprint;
    t.limit_only = true;
    asks.push_back(std::move(a));
  }
  s.exchange().ask(std::move(asks), s.now_ms(),
                   [&s, turn = std::move(turn), items = o.items, fingerprint,
                    then = std::move(then)](std::vector<stock_answer> answers) mutable {
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!answers[i].refused) continue;
      // Nothing was recorded: what the other lines counted goes back at once.
      for (size_t j = 0; j < answers.size(); ++j)
        if (answers[j].limit_counted())
          s.exchange().release_limit(items[j].product_id, limit_scope::card, fingerprint,
                                     items[j].quantity);
      error refused = stock_refusal(*answers[i].refused, items[i].product_id, answers[i], 0);
      return then(std::move(turn), std::move(refused));
    }
    then(std::move(turn), true);
  });
}

void release_card_if_unused(shard& s, const order& after, const std::string& fingerprint) {
  if (contains(counted_cards(after), fingerprint)) return;
  s.when_durable([&s, o = after, fingerprint] { release(s, o, limit_scope::card, fingerprint); });
}

void release_counts(shard& s, const order& before, const order& after) {
  bool address_gone = holds_stock(before.status) && !holds_stock(after.status);
  auto cards_before = counted_cards(before);
  auto cards_after = counted_cards(after);
  std::vector<std::string> cards_gone;
  for (const auto& k : cards_before)
    if (!contains(cards_after, k)) cards_gone.push_back(k);
  if (!address_gone && cards_gone.empty()) return;
  s.when_durable([&s, o = after, address_gone, cards_gone = std::move(cards_gone)] {
    if (address_gone) release(s, o, limit_scope::address, address_key(o.shipping_address));
    for (const auto& k : cards_gone) release(s, o, limit_scope::card, k);
  });
}

}  // namespace stampede::drop_user_ops
