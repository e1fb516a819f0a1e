// Checkout (preview and placing an order, which honours Idempotency-Key), the caller's
// orders and their cancellation, and the admin's order list and status changes.
#include "server/handlers/handlers.h"

#include "server/email/message.h"

namespace stampede::http::handlers {

namespace {

// Ids a checkout body names (addresses, a shipping method): longer ones name nothing.
constexpr size_t checkout_id_length_max = 64;
constexpr size_t status_name_length_max = 64;
// The engine refuses a tracking number outside 1..200 bytes too (core/shard.cc).
constexpr size_t tracking_number_length_max = 200;
// Read whole, so that an address too long is refused as not valid, with its bound.
constexpr size_t email_read_bytes_max = 4096;
constexpr std::string_view email_rule = "email must be a valid email address of at most 254 bytes";
static_assert(email::address_length_max == 254, "email_rule names the bound");

std::optional<checkout_request> read_checkout(reader& rd) {
  checkout_request req;
  if (auto v = rd.str("shipping_address_id", checkout_id_length_max)) req.shipping_address_id = std::move(*v);
  if (auto v = rd.str("billing_address_id", checkout_id_length_max)) req.billing_address_id = std::move(*v);
  if (auto v = rd.str("shipping_method", checkout_id_length_max)) req.shipping_method = std::move(*v);
  if (auto v = rd.str("email", email_read_bytes_max)) req.email = std::move(*v);
  if (!rd.bad.empty()) return std::nullopt;
  return req;
}

// The body's address, else the token's claim (API.md, "Email"). A bad one in the body names
// nothing anyone could be mailed at (and a CR or LF in it never reaches a header): the
// preview refuses it as the order would, so that a preview that is ready means it.
std::optional<error> take_email(const reader& rd, const std::string& claim, checkout_request& req) {
  if (rd.has("email")) {
    if (!email::valid_address(req.email))
      return field_error("email", std::string(email_rule));
  } else if (email::valid_address(claim)) {
    req.email = claim;
  }
  return std::nullopt;
}

reply<order> order_answer(handler_context& ctx, call& c) {
  return answer<order>(ctx, c, [&ctx](order o) { return json_response(200, to_json(o, ctx.settings.pres)); });
}

reply<page<order>> orders_page_answer(handler_context& ctx, call& c) {
  return answer<page<order>>(ctx, c, [&ctx](page<order> p) {
    return json_response(200, page_json(p, [&](const order& o) { return to_json(o, ctx.settings.pres); }));
  });
}

}  // namespace

void checkout_preview(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto req = read_checkout(rd);
  if (!req) return c.fail(bad_field(rd, {{"email", email_rule}}));
  if (auto e = take_email(rd, c.who.email, *req)) return c.fail(std::move(*e));
  ctx.eng.preview(c.who.user_id, std::move(*req),
                  answer<checkout_summary>(ctx, c, [&ctx](checkout_summary s) {
                    return json_response(200, to_json(s, ctx.settings.pres));
                  }));
}

void place_order(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto req = read_checkout(rd);
  if (!req) return c.fail(bad_field(rd, {{"email", email_rule}}));
  if (auto e = take_email(rd, c.who.email, *req)) return c.fail(std::move(*e));
  ctx.eng.place_order(c.who.user_id, std::move(*req), c.req.idempotency_key,
                      answer<idempotent<order>>(ctx, c, [&ctx](idempotent<order> o) {
                        response r = json_response(201, to_json(o.value, ctx.settings.pres));
                        if (o.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
                        return r;
                      }));
}

void list_orders(handler_context& ctx, call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.fail(bad_limit());
  ctx.eng.list_orders(c.who.user_id, pg->cursor, pg->limit, orders_page_answer(ctx, c));
}

void get_order(handler_context& ctx, call& c) {
  ctx.eng.get_order(c.params[0], c.who.user_id, c.who.admin, order_answer(ctx, c));
}

void cancel_order(handler_context& ctx, call& c) {
  ctx.eng.cancel_order(c.params[0], c.who.user_id, c.who.admin, order_answer(ctx, c));
}

void admin_list_orders(handler_context& ctx, call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.fail(bad_limit());
  std::optional<order_status> status;
  if (auto it = c.req.query.find("status"); it != c.req.query.end()) {
    status = parse_order_status(it->second);
    if (!status) return c.fail(field_error("status", "unknown order status"));
  }
  ctx.eng.admin_list_orders(status, pg->cursor, pg->limit, orders_page_answer(ctx, c));
}

void admin_set_status(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto status_name = rd.str("status", status_name_length_max);
  auto tracking = rd.str("tracking_number", tracking_number_length_max);
  if (!rd.bad.empty()) return c.fail(bad_field(rd));
  if (!status_name) return c.fail(field_error("status", "status is required"));
  auto to = parse_order_status(*status_name);
  if (!to) return c.fail(field_error("status", "unknown order status"));
  ctx.eng.set_order_status(c.params[0], *to, std::move(tracking), order_answer(ctx, c));
}

}  // namespace stampede::http::handlers
