// Paying an order (card or PayPal through the gateway; honours Idempotency-Key; a decline
// is a 402), and the gateway's signed confirmation of a payment that needed action.
#include "core/payments.h"
#include "server/handlers/handlers.h"

#include <algorithm>

namespace stampede::http::handlers {

namespace {

// An amount is checked against the order total by the engine (422 amount_mismatch); this
// bound keeps out what no order can cost.
constexpr int64_t payment_amount_max = limits::order_total_minor_max;
constexpr size_t payment_method_length_max = 16;
constexpr size_t card_number_length_max = 32;
constexpr size_t card_cvc_length_min = 3;
constexpr size_t card_cvc_length_max = 4;
constexpr int64_t card_exp_year_min = 2000;
constexpr int64_t card_exp_year_max = 2100;
constexpr size_t payment_id_length_max = 64;
constexpr size_t gateway_status_length_max = 32;
constexpr size_t gateway_reason_length_max = 200;

// The card of a card payment, or the error naming its bad field.
result<card_details> read_card(const json::object& body) {
  auto card = body.if_contains("card");
  if (!card || !card->is_object()) return field_error("card", "card is required");
  reader cr{card->as_object()};
  auto number = cr.str("number", card_number_length_max);
  auto month = cr.integer("exp_month", 1, 12);
  auto year = cr.integer("exp_year", card_exp_year_min, card_exp_year_max);
  auto cvc = cr.str("cvc", card_cvc_length_max);
  if (cr.bad == "cvc") return field_error("card.cvc", "the CVC must be 3 or 4 digits");
  if (!cr.bad.empty()) return field_error("card." + cr.bad, "card." + cr.bad + " is malformed");
  if (!number || !luhn_valid(*number))
    return field_error("card.number", "the card number is not valid");
  if (!month || !year) return field_error("card.exp_month", "the expiry date is required");
  if (!cvc) return field_error("card.cvc", "the CVC is required");
  if (cvc->size() < card_cvc_length_min ||
      !std::all_of(cvc->begin(), cvc->end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return field_error("card.cvc", "the CVC must be 3 or 4 digits");
  return card_details{std::move(*number), *month, *year, std::move(*cvc)};
}

// Does the raw body carry the gateway's signature (Stampede-Signature: sha256=<hex>)?
bool signed_by_gateway(const handler_context& ctx, const request& req) {
  constexpr std::string_view prefix = "sha256=";
  std::string_view sig = req.signature;
  return sig.size() > prefix.size() && sig.substr(0, prefix.size()) == prefix &&
         constant_time_equal(sig.substr(prefix.size()),
                             hmac_sha256_hex(ctx.settings.gateway_secret, req.body));
}

}  // namespace

void pay_order(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto method = rd.str("method", payment_method_length_max);
  auto amount = rd.integer("amount", 0, payment_amount_max);
  if (!rd.bad.empty()) return c.fail(bad_field(rd));
  if (!method || (*method != "card" && *method != "paypal"))
    return c.fail(field_error("method", "method must be \"card\" or \"paypal\""));
  if (!amount) return c.fail(field_error("amount", "amount is required"));
  payment_request pr;
  pr.method = *method;
  pr.amount = *amount;
  if (pr.method == "card") {
    auto card = read_card(c.body);
    if (!card.ok()) return c.fail(card.err());
    pr.card = std::move(card).value();
  }
  ctx.eng.pay_order(
      c.params[0], c.who.user_id, std::move(pr), c.req.idempotency_key,
      answer<idempotent<payment_result>>(ctx, c, [&ctx](idempotent<payment_result> r) {
        const payment& p = r.value.pay;
        response out = p.status == payment_status::failed
                           ? payment_failed_response(p)
                           : json_response(201, json::object{{"payment", to_json(p, ctx.settings.pres)},
                                                             {"order", to_json(r.value.order_now, ctx.settings.pres)}});
        if (r.replayed) out.headers.emplace_back("Idempotent-Replayed", "true");
        return out;
      }));
}

void payment_webhook(handler_context& ctx, call& c) {
  // The gateway authenticates with its signature over the raw body, checked before the body.
  if (!signed_by_gateway(ctx, c.req))
    return c.respond(http_error(401, "unauthorized", "bad or missing Stampede-Signature"));
  auto v = parse_body(c.req.body);
  if (!v || !v->is_object())
    return c.respond(http_error(400, "invalid_request", "the body is not a JSON object"));
  reader rd{v->as_object()};
  auto payment_id = rd.str("payment_id", payment_id_length_max);
  auto status = rd.str("status", gateway_status_length_max);
  auto reason = rd.str("reason", gateway_reason_length_max);
  if (!rd.bad.empty()) return c.fail(bad_field(rd));
  if (!payment_id) return c.fail(field_error("payment_id", "payment_id is required"));
  if (!status || (*status != "succeeded" && *status != "failed"))
    return c.fail(field_error("status", "status must be \"succeeded\" or \"failed\""));
  ctx.eng.settle_payment(*payment_id,
                         *status == "succeeded" ? payment_status::succeeded : payment_status::failed,
                         reason.value_or(""), answer<ok_t>(ctx, c, [](ok_t) {
                           return json_response(200, json::object{{"received", true}});
                         }));
}

}  // namespace stampede::http::handlers
