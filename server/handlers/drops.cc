// Drops (API.md "Drops: waiting room, draw, waitlist"): the admin's routes (create, read with
// counts, pause, resume, close), the public view, a queue ticket (join, read, leave), a draw
// entry (enter, read), and a product's waitlist (join, read, leave).
#include <cmath>

#include "server/handlers/handlers.h"
#include "server/rfc3339.h"

namespace stampede::http::handlers {

namespace {

// Longer than any id, so that an unknown but plausible id reaches the engine (404 or 400 as
// API.md says) while an absurd string is refused here.
constexpr size_t drop_id_read_bytes_max = 1024;

// A join that may be a repeat: 201 with what was made, or 200 with what was there.
template <class T>
reply<created<T>> created_answer(handler_context& ctx, call& c) {
  return answer<created<T>>(ctx, c, [](created<T> v) {
    return json_response(v.is_new ? 201 : 200, to_json(v.value));
  });
}

reply<drop_view> drop_answer(handler_context& ctx, call& c, unsigned status, bool admin) {
  return answer<drop_view>(ctx, c, [status, admin](drop_view v) {
    return json_response(status, to_json(v, admin));
  });
}

// "overbook": a number 0..10, kept in thousandths.
std::optional<int64_t> read_overbook(const json::object& body, bool& bad) {
  auto it = body.find("overbook");
  if (it == body.end()) return std::nullopt;
  double x = 0;
  if (it->value().is_int64()) {
    x = static_cast<double>(it->value().as_int64());
  } else if (it->value().is_double()) {
    x = it->value().as_double();
  } else {
    bad = true;
    return std::nullopt;
  }
  double permille = std::round(x * 1000.0);
  if (!std::isfinite(x) || permille < 0 || permille > limits::drop_overbook_permille_max) {
    bad = true;
    return std::nullopt;
  }
  return static_cast<int64_t>(permille);
}

// The body of POST /v1/admin/drops; the engine checks the rest (validate()).
result<drop_definition> read_definition(const json::object& body) {
  reader rd{body};
  drop_definition d;
  auto id = rd.str("id", drop_id_read_bytes_max);
  auto products = rd.str_list("product_ids", limits::drop_products_max, drop_id_read_bytes_max);
  auto mode = rd.str("mode", 16);
  auto opens = rd.time_or_null("opens_at");
  auto closes = rd.time_or_null("draw_closes_at");
  auto rate = rd.integer("admit_per_s", 1, limits::drop_admit_per_s_max);
  auto ttl = rd.integer("admission_ttl", limits::drop_admission_ttl_min_s, limits::drop_admission_ttl_max_s);
  if (!rd.bad.empty()) return bad_field(rd);
  bool bad_overbook = false;
  auto overbook = read_overbook(body, bad_overbook);
  if (bad_overbook) return field_error("overbook", "overbook is a number 0 to 10");
  if (!id) return field_error("id", "id is required");
  if (!products) return field_error("product_ids", "product_ids is required");
  auto parsed_mode = parse_drop_mode(mode.value_or("queue"));
  if (!parsed_mode) return field_error("mode", "mode is queue or draw");
  if (!opens || !*opens) return field_error("opens_at", "opens_at is required (RFC 3339)");
  d.id = std::move(*id);
  d.product_ids = std::move(*products);
  d.mode = *parsed_mode;
  d.opens_at_ms = **opens;
  if (closes) d.draw_closes_at_ms = *closes;
  if (rate) d.admit_per_s = *rate;
  if (ttl) d.admission_ttl_s = *ttl;
  if (overbook) d.overbook_permille = *overbook;
  return d;
}

}  // namespace

void admin_create_drop(handler_context& ctx, call& c) {
  auto d = read_definition(c.body);
  if (!d.ok()) return c.fail(d.err());
  ctx.eng.create_drop(std::move(d).value(), drop_answer(ctx, c, 201, true));
}

void admin_get_drop(handler_context& ctx, call& c) {
  ctx.eng.get_drop(c.params[0], drop_answer(ctx, c, 200, true));
}

void admin_pause_drop(handler_context& ctx, call& c) {
  ctx.eng.command_drop(c.params[0], drop_command::pause, drop_answer(ctx, c, 200, true));
}

void admin_resume_drop(handler_context& ctx, call& c) {
  ctx.eng.command_drop(c.params[0], drop_command::resume, drop_answer(ctx, c, 200, true));
}

void admin_close_drop(handler_context& ctx, call& c) {
  ctx.eng.command_drop(c.params[0], drop_command::close, drop_answer(ctx, c, 200, true));
}

void get_drop(handler_context& ctx, call& c) {
  ctx.eng.get_drop(c.params[0], drop_answer(ctx, c, 200, false));
}

void join_queue(handler_context& ctx, call& c) {
  ctx.eng.join_queue(c.params[0], c.who.user_id,
                     answer<created<ticket_view>>(ctx, c, [](created<ticket_view> t) {
                       return json_text_response(t.is_new ? 201 : 200, ticket_text(t.value));
                     }));
}

void get_ticket(handler_context& ctx, call& c) {
  ctx.eng.get_ticket(c.params[0], c.who.user_id, answer<ticket_view>(ctx, c, [](ticket_view t) {
                       return json_text_response(200, ticket_text(t));
                     }));
}

void leave_queue(handler_context& ctx, call& c) {
  ctx.eng.leave_queue(c.params[0], c.who.user_id, answer<ok_t>(ctx, c, [](ok_t) { return no_content(); }));
}

void enter_draw(handler_context& ctx, call& c) {
  ctx.eng.enter_draw(c.params[0], c.who.user_id, created_answer<entry_view>(ctx, c));
}

void get_entry(handler_context& ctx, call& c) {
  ctx.eng.get_entry(c.params[0], c.who.user_id,
                    answer<entry_view>(ctx, c, [](entry_view e) { return json_response(200, to_json(e)); }));
}

void join_waitlist(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto quantity = rd.integer("quantity", limits::quantity_min, limits::quantity_max);
  if (!rd.bad.empty()) return c.fail(field_error("quantity", "quantity must be an integer 1..10000"));
  ctx.eng.join_waitlist(c.params[0], c.who.user_id, quantity.value_or(1),
                        created_answer<waitlist_place>(ctx, c));
}

void get_waitlist_place(handler_context& ctx, call& c) {
  ctx.eng.waitlist_place_of(c.params[0], c.who.user_id, answer<waitlist_place>(ctx, c, [](waitlist_place w) {
                              return json_response(200, to_json(w));
                            }));
}

void leave_waitlist(handler_context& ctx, call& c) {
  ctx.eng.leave_waitlist(c.params[0], c.who.user_id, answer<ok_t>(ctx, c, [](ok_t) { return no_content(); }));
}

}  // namespace stampede::http::handlers
