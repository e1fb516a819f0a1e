// The caller's cart: read it, add to a line (honours Idempotency-Key), set or remove a
// line, empty it. Every answer is the cart as it now is, streamed (the hottest answer).
#include "server/handlers/handlers.h"

namespace stampede::http::handlers {

namespace {

// Longer than any product id, so that an unknown but plausible id reaches the engine and
// is a 404 (API.md), while an absurd string is refused here.
constexpr size_t cart_product_id_read_bytes_max = 1024;

reply<cart_view> cart_answer(handler_context& ctx, call& c) {
  return answer<cart_view>(ctx, c, [&ctx](cart_view v) {
    return json_text_response(200, cart_text(v, ctx.settings.pres));
  });
}

std::string quantity_range(int64_t min) {
  return "quantity must be an integer " + std::to_string(min) + ".." + std::to_string(limits::quantity_max);
}

}  // namespace

void get_cart(handler_context& ctx, call& c) { ctx.eng.get_cart(c.who.user_id, cart_answer(ctx, c)); }

void add_cart_item(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto product_id = rd.str("product_id", cart_product_id_read_bytes_max);
  auto quantity = rd.integer("quantity", limits::quantity_min, limits::quantity_max);
  if (!rd.bad.empty())
    return c.fail(rd.bad == "quantity" ? field_error(rd.bad, quantity_range(limits::quantity_min))
                                       : bad_field(rd, {{"product_id", "product_id must be a product's id, a string"}}));
  if (!product_id) return c.fail(field_error("product_id", "product_id is required"));
  if (!quantity) return c.fail(field_error("quantity", "quantity is required"));
  ctx.eng.add_item(c.who.user_id, std::move(*product_id), *quantity, c.req.idempotency_key,
                   answer<idempotent<cart_view>>(ctx, c, [&ctx](idempotent<cart_view> v) {
                     response r = json_text_response(200, cart_text(v.value, ctx.settings.pres));
                     if (v.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
                     return r;
                   }),
                   c.req.admission);
}

void set_cart_item(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto quantity = rd.integer("quantity", 0, limits::quantity_max);
  if (!rd.bad.empty() || !quantity) return c.fail(field_error("quantity", quantity_range(0)));
  ctx.eng.set_item(c.who.user_id, c.params[0], *quantity, cart_answer(ctx, c), c.req.admission);
}

void remove_cart_item(handler_context& ctx, call& c) {
  ctx.eng.remove_item(c.who.user_id, c.params[0], cart_answer(ctx, c));
}

void clear_cart(handler_context& ctx, call& c) { ctx.eng.clear_cart(c.who.user_id, cart_answer(ctx, c)); }

}  // namespace stampede::http::handlers
