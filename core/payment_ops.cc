#include "core/payment_ops.h"

#include <algorithm>

#include "core/drop_user_ops.h"
#include "core/events.h"
#include "core/order_ops.h"
#include "core/shard.h"

namespace stampede::payment_ops {

namespace {

using payment_reply = reply<idempotent<payment_result>>;

std::string last4_of(const std::string& card_number) {
  return card_number.size() >= 4 ? card_number.substr(card_number.size() - 4) : std::string();
}

// A pending order becomes paid; that frees no stock.
void pay(shard& s, user_turn& turn, const std::string& order_id) {
  auto freed = order_ops::change_status(s, turn, order_id, order_status::paid, std::nullopt);
  STAMPEDE_CHECK(freed.empty());
}

// A card's fingerprint is never shown and is not in an answer's encoding, so a replay under
// the idempotency key carries none: the first answer carries none either, to equal it.
payment_result without_fingerprints(payment_result r) {
  r.pay.card_fingerprint.clear();
  for (auto& p : r.order_now.payments) p.card_fingerprint.clear();
  return r;
}

// The gateway's outcome, back on the shard with the user's turn: recorded on the order,
// which is paid, or notified of the failure (or refunded, if canceled meanwhile).
void finish_payment(shard& s, user_turn turn, const std::string& order_id, payment p,
                    charge_outcome outcome, const std::optional<idempotency_scope>& scope,
                    bool card_counted, payment_reply done) {
  p.status = outcome.status;
  p.failure_reason = std::move(outcome.failure_reason);
  p.redirect_url = std::move(outcome.redirect_url);
  p.created_at_ms = s.now_ms();
  order next = *s.orders().find(order_id);
  if (p.status == payment_status::succeeded && next.status != order_status::pending) {
    // The order was canceled while the charge ran: give the money back at once.
    p.status = payment_status::refunded;
  }
  next.payments.push_back(p);
  next.updated_at_ms = p.created_at_ms;
  s.record(order_updated{std::move(next)});
  if (!p.card_fingerprint.empty())  // not in the order's encoding: logged beside it
    s.record(card_fingerprint_set{turn->id, order_id, p.id, p.card_fingerprint});
  // The card was counted for this payment (max_per_card): a decline, or a refund of an
  // order canceled meanwhile, gives it back.
  if (card_counted) drop_user_ops::release_card_if_unused(s, *s.orders().find(order_id), p.card_fingerprint);
  if (p.status == payment_status::succeeded) {
    pay(s, turn, order_id);
  } else if (p.status == payment_status::failed) {
    events::notify(s, turn.user(), *s.orders().find(order_id), "order.payment_failed");
  } else if (p.status == payment_status::refunded) {
    events::notify(s, turn.user(), *s.orders().find(order_id), "order.refunded");
  }
  payment_result answer = without_fingerprints({std::move(p), *s.orders().find(order_id)});
  // Successes, pending actions and declines (402) are all stored under the key.
  if (scope) s.record(kept_answer(turn->id, *scope, s.now_ms(), answer));
  s.when_answerable([answer = std::move(answer), done = std::move(done)]() mutable {
    done(idempotent<payment_result>{std::move(answer), false});
  });
}

// Why an order cannot take this payment now, if it cannot.
std::optional<error> payment_refusal(const order& o, const payment_request& req) {
  if (o.status != order_status::pending)
    return make_error(error_code::invalid_transition, "only a pending order takes payments");
  if (req.amount != o.total)
    return make_error(error_code::amount_mismatch,
                      "amount must equal the order total " + std::to_string(o.total));
  if (o.payments.size() >= limits::payments_per_order_max)
    return make_error(error_code::invalid_request,
                      "this order has had " + std::to_string(limits::payments_per_order_max) +
                          " payment attempts, the most it takes; cancel it and order again");
  return std::nullopt;
}

void charge(shard& s, user_turn turn, std::string order_id, payment_request req,
            std::optional<idempotency_scope> scope, bool card_counted, payment_reply done) {
  STAMPEDE_CHECK(s.config().gateway != nullptr);
  payment p;
  p.id = s.next_id("pay_", turn->id);
  p.method = req.method;
  p.amount = req.amount;
  if (req.method == "card") {
    p.card_brand = card_brand(req.card.number);
    p.card_last4 = last4_of(req.card.number);
    p.card_fingerprint = s.fingerprints().fingerprint(req.card.number);
  }
  charge_request request{p.id, order_id, req.method, req.amount, std::move(req.card), s.now_ms()};
  // The outcome comes back as a message to this shard, whichever thread the gateway
  // answers on; the turn travels with it, so nothing of the user's runs in between.
  s.config().gateway->charge(
      std::move(request),
      [&s, turn = std::move(turn), order_id = std::move(order_id), p = std::move(p),
       scope = std::move(scope), card_counted, done = std::move(done)](charge_outcome outcome) mutable {
        s.post(shard_task{[turn = std::move(turn), order_id = std::move(order_id),
                           p = std::move(p), outcome = std::move(outcome),
                           scope = std::move(scope), card_counted,
                           done = std::move(done)](shard& home) mutable {
          finish_payment(home, std::move(turn), order_id, std::move(p), std::move(outcome), scope,
                         card_counted, std::move(done));
        }});
      });
}

}  // namespace

void pay_order(shard& s, std::string order_id, std::string requester, payment_request req,
               std::optional<std::string> idempotency_key, payment_reply done) {
  const order* o = s.orders().find(order_id);
  if (!o || o->user_id != requester)
    return done(make_error(error_code::not_found, "no such order"));
  s.users().with_user(o->user_id, caller::customer, std::move(done),
                      [&s, order_id = std::move(order_id), req = std::move(req),
                       key = std::move(idempotency_key)](user_turn turn, auto done) mutable {
    std::optional<idempotency_scope> scope;
    if (key) {
      scope = payment_scope(*key, order_id, req.method, req.amount, last4_of(req.card.number),
                            req.card.exp_month, req.card.exp_year);
      if (answered_from(s, s.idempotency().check(turn->id, *scope, s.now_ms()), done)) return;
    }
    const order& o = *s.orders().find(order_id);
    if (auto refused = payment_refusal(o, req)) return done(std::move(*refused));
    if (req.method != "card")
      return charge(s, std::move(turn), std::move(order_id), std::move(req), std::move(scope),
                    false, std::move(done));
    // max_per_card, decided on the products' shards before the card is charged; a refused
    // order stays pending.
    std::string fingerprint = s.fingerprints().fingerprint(req.card.number);
    drop_user_ops::count_card(
        s, std::move(turn), o, fingerprint,
        [&s, order_id = std::move(order_id), req = std::move(req), scope = std::move(scope),
         done = std::move(done)](user_turn turn, result<bool> counted) mutable {
          if (!counted.ok()) return done(std::move(counted).err());
          charge(s, std::move(turn), std::move(order_id), std::move(req), std::move(scope),
                 counted.value(), std::move(done));
        });
  });
}

void settle_payment(shard& s, std::string payment_id, payment_status status,
                    std::string reason, reply<ok_t> done) {
  const std::string* order_id = s.orders().order_of_payment(payment_id);
  if (!order_id) return done(make_error(error_code::not_found, "no such payment"));
  const std::string& owner = s.orders().find(*order_id)->user_id;
  s.users().with_user(owner, caller::staff, std::move(done),
                      [&s, order_id = *order_id, payment_id = std::move(payment_id), status,
                       reason = std::move(reason)](user_turn turn, auto done) mutable {
    order before = *s.orders().find(order_id);
    order next = before;
    auto p = std::find_if(next.payments.begin(), next.payments.end(),
                          [&](const payment& x) { return x.id == payment_id; });
    STAMPEDE_CHECK(p != next.payments.end());
    if (p->status != payment_status::requires_action)
      return done(ok_t{});  // settled before: a repeated webhook changes nothing
    const char* event = nullptr;
    bool pay = false;
    if (status == payment_status::succeeded && next.status == order_status::pending) {
      p->status = payment_status::succeeded;
      pay = true;
    } else if (status == payment_status::succeeded) {
      p->status = payment_status::refunded;  // canceled meanwhile: refund at once
      event = "order.refunded";
    } else {
      p->status = payment_status::failed;
      p->failure_reason = reason.empty() ? "payment_failed" : reason;
      event = "order.payment_failed";
    }
    next.updated_at_ms = s.now_ms();
    s.record(order_updated{std::move(next)});
    drop_user_ops::release_counts(s, before, *s.orders().find(order_id));
    if (pay) payment_ops::pay(s, turn, order_id);
    if (event) events::notify(s, turn.user(), *s.orders().find(order_id), event);
    s.when_answerable([done = std::move(done)]() mutable { done(ok_t{}); });
  });
}

}  // namespace stampede::payment_ops
