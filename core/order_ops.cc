#include "core/order_ops.h"

#include <algorithm>

#include "core/drop_user_ops.h"
#include "core/events.h"
#include "core/shard.h"
#include "core/text.h"

namespace stampede::order_ops {

namespace {

error no_order() { return make_error(error_code::not_found, "no such order"); }

// A page of `seq` (oldest first) read newest first, starting just before the element whose
// id is `cursor` (from the newest when empty; nothing when it is not there).
template <class T, class Seq, class IdOf, class Item>
page<T> newest_first(const Seq& seq, std::string_view cursor, size_t limit, IdOf id_of,
                     Item item) {
  page<T> out;
  size_t end = seq.size();
  if (!cursor.empty()) {
    auto it = std::find_if(seq.begin(), seq.end(), [&](const auto& x) { return id_of(x) == cursor; });
    end = static_cast<size_t>(it - seq.begin());
    if (it == seq.end()) end = 0;
  }
  for (size_t i = end; i > 0 && out.items.size() < limit; --i) out.items.push_back(item(seq[i - 1]));
  if (!out.items.empty() && end > out.items.size()) out.next_cursor = id_of(seq[end - out.items.size()]);
  return out;
}

// The units of an order that no longer holds stock, to return to their products' shards.
std::vector<stock_move> returns_of(const order& o) {
  std::vector<stock_move> moves;
  moves.reserve(o.items.size());
  for (const auto& item : o.items)
    moves.push_back(stock_move{stock_move::kind::uncommit, item.product_id, item.quantity});
  return moves;
}

// Runs op(turn, order) on the order's user once it is their turn; the order exists (ids are
// never forgotten) and belongs to the turn's user.
template <class T, class Op>
void with_order_owner(shard& s, std::string order_id, caller who, reply<T> done, Op op) {
  const order* o = s.orders().find(order_id);
  STAMPEDE_CHECK(o != nullptr);
  std::string owner = o->user_id;
  s.users().with_user(owner, who, std::move(done),
                      [&s, order_id = std::move(order_id), op = std::move(op)](
                          user_turn turn, reply<T> done) mutable {
                        op(std::move(turn), *s.orders().find(order_id), std::move(done));
                      });
}

// Runs op(turn, order) for the order's owner or an admin, in the owner's turn; anyone else
// (or an unknown order) is answered not_found, never forbidden.
template <class Op>
void with_visible_order(shard& s, std::string order_id, const std::string& requester,
                        bool as_admin, reply<order> done, Op op) {
  const order* o = s.orders().find(order_id);
  if (!o || (!as_admin && o->user_id != requester)) return done(no_order());
  with_order_owner(s, std::move(order_id), as_admin ? caller::staff : caller::customer,
                   std::move(done), std::move(op));
}

// Answers with the order as it now is, once durable and, if the change freed stock, once
// the stock is back on the products' shards; the user's next request waits as long.
void answer_order(shard& s, user_turn turn, std::string_view order_id,
                  std::vector<stock_move> freed, reply<order> done) {
  auto send = [o = *s.orders().find(order_id), done = std::move(done)]() mutable {
    done(std::move(o));
  };
  if (freed.empty()) return s.when_answerable(std::move(send));
  s.free_stock(std::move(freed), [turn = std::move(turn), send = std::move(send)]() mutable {
    send();
  });
}

}  // namespace

std::vector<stock_move> change_status(shard& s, user_turn& turn, std::string_view order_id,
                                      order_status to, std::optional<std::string> tracking_number) {
  const order& o = *s.orders().find(order_id);
  STAMPEDE_CHECK(o.status == to || transition_allowed(o.status, to, transition_actor::admin) ||
                 transition_allowed(o.status, to, transition_actor::system));
  int64_t now = s.now_ms();
  order next = o;
  order_status from = o.status;
  next.status = to;
  next.history.push_back({to, now});
  next.updated_at_ms = now;
  if (tracking_number) next.tracking_number = std::move(tracking_number);
  if (to != order_status::pending) next.expires_at_ms.reset();
  bool refund = false;
  if (to == order_status::canceled) {
    for (auto& p : next.payments) {
      if (p.status != payment_status::succeeded) continue;
      p.status = payment_status::refunded;
      refund = true;
    }
  }
  order before = o;
  s.record(order_updated{std::move(next)});
  const order& now_order = *s.orders().find(order_id);
  // A canceled order's address and cards stop counting against their limits.
  drop_user_ops::release_counts(s, before, now_order);
  events::notify(s, turn.user(), now_order, event_name_for(to));
  if (refund) events::notify(s, turn.user(), now_order, "order.refunded");
  if (holds_stock(from) && !holds_stock(to)) return returns_of(now_order);
  return {};
}

void get_order(shard& s, std::string order_id, std::string requester, bool as_admin,
               reply<order> done) {
  with_visible_order(s, std::move(order_id), requester, as_admin, std::move(done),
                     [](user_turn, const order& o, reply<order> done) { done(o); });
}

void cancel_order(shard& s, std::string order_id, std::string requester, bool as_admin,
                  reply<order> done) {
  with_visible_order(s, std::move(order_id), requester, as_admin, std::move(done),
                     [&s, as_admin](user_turn turn, const order& o, reply<order> done) {
    auto actor = as_admin ? transition_actor::admin : transition_actor::owner;
    if (!transition_allowed(o.status, order_status::canceled, actor)) {
      return done(make_error(error_code::invalid_transition,
                             "an order that is " + std::string(to_string(o.status)) +
                                 " cannot be canceled"));
    }
    std::string id = o.id;
    auto freed = change_status(s, turn, id, order_status::canceled, std::nullopt);
    answer_order(s, std::move(turn), id, std::move(freed), std::move(done));
  });
}

void set_order_status(shard& s, std::string order_id, order_status to,
                      std::optional<std::string> tracking_number, reply<order> done) {
  if (!s.orders().find(order_id)) return done(no_order());
  if (tracking_number && (text::blank(*tracking_number) || text::has_control(*tracking_number) ||
                          tracking_number->size() > limits::tracking_number_length_max)) {
    return done(field_error("tracking_number", "tracking_number must be 1.." +
                                                   std::to_string(limits::tracking_number_length_max) +
                                                   " bytes, without control characters"));
  }
  with_order_owner(s, std::move(order_id), caller::staff, std::move(done),
                   [&s, to, tracking = std::move(tracking_number)](
                       user_turn turn, const order& o, reply<order> done) mutable {
    if (!transition_allowed(o.status, to, transition_actor::admin)) {
      return done(make_error(error_code::invalid_transition,
                             "cannot move an order from " + std::string(to_string(o.status)) +
                                 " to " + std::string(to_string(to))));
    }
    std::string id = o.id;
    auto freed = change_status(s, turn, id, to, std::move(tracking));
    answer_order(s, std::move(turn), id, std::move(freed), std::move(done));
  });
}

void list_orders(shard& s, const std::string& user_id, std::string_view cursor, size_t limit,
                 reply<page<order>> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, cursor = std::string(cursor), limit](user_turn turn, auto done) {
    done(newest_first<order>(
        turn->order_ids, cursor, limit, [](const std::string& id) -> const std::string& { return id; },
        [&s](const std::string& id) { return *s.orders().find(id); }));
  });
}

void list_notifications(shard& s, const std::string& user_id, std::string_view cursor,
                        size_t limit, reply<page<notification>> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [cursor = std::string(cursor), limit](user_turn turn, auto done) {
    done(newest_first<notification>(
        turn->notifications, cursor, limit,
        [](const notification& n) -> const std::string& { return n.id; },
        [](const notification& n) { return n; }));
  });
}

std::vector<order> orders_before(const shard& s, std::optional<order_status> status,
                                 std::optional<std::pair<int64_t, std::string>> cursor,
                                 size_t limit) {
  return s.orders().before(status, std::move(cursor), limit);
}

void cancel_unpaid_due(shard& s, int64_t now_ms) {
  for (std::string& order_id : s.orders().take_due(now_ms)) {
    const order* o = s.orders().find(order_id);
    if (!o) continue;
    s.users().with_user(o->user_id, [&s, order_id = std::move(order_id)](user_turn turn) {
      const order& o = *s.orders().find(order_id);
      if (o.status != order_status::pending || !o.expires_at_ms || *o.expires_at_ms > s.now_ms())
        return;
      // The user's next request (a read of the order) waits until the units are back.
      auto freed = change_status(s, turn, order_id, order_status::canceled, std::nullopt);
      s.free_stock(std::move(freed), [turn = std::move(turn)] {});
    });
  }
}

}  // namespace stampede::order_ops
