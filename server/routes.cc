#include "server/routes.h"

#include <chrono>

#include "core/write_queue.h"
#include "server/handlers/handlers.h"
#include "server/http_text.h"
#include "server/transport_limits.h"

namespace stampede::http {

namespace {

int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------
// The route table. A path matches at most one pattern per method, so the order is only for
// reading. Columns:
//   method, pattern  "{}" matches one non-empty segment, handed to the handler in order;
//   who              anyone | user (a valid token) | admin (role=admin); a token sent to an
//                    `anyone` route is still checked (a bad one is 401);
//   kind             read | write: a write changes state, and is what admission control
//                    sheds first under overload (reads keep working);
//   keys             honoured: the route replays an Idempotency-Key's first answer;
//   body             none (ignored) | json (an object, else 415/400 before the handler) |
//                    raw (the handler reads the bytes: the payment webhook checks a
//                    signature over them before parsing);
//   body_bytes_max   a longer body is 413 payload_too_large;
//   fn               the handler (server/handlers/<resource>.cc).
// To add a resource: write server/handlers/<resource>.cc, declare its handlers in
// server/handlers/handlers.h, add its rows here (and the file to CMakeLists.txt).
// tests/server/routes_test.cc checks every row.

using enum access;
using enum route_kind;
using enum body_kind;
namespace h = handlers;
constexpr auto keyed = idempotency::honoured;
constexpr auto unkeyed = idempotency::ignored;
constexpr size_t any_body = request_body_bytes_max;  // what the transport takes

constexpr route routes[] = {
    // Catalog (handlers/catalog.cc).
    {"GET", "/v1/products", anyone, read, unkeyed, none, any_body, &h::list_products},
    {"GET", "/v1/products/{}", anyone, read, unkeyed, none, any_body, &h::get_product},
    {"GET", "/v1/admin/products", admin, read, unkeyed, none, any_body, &h::admin_list_products},
    {"POST", "/v1/admin/products", admin, write, unkeyed, json, any_body, &h::admin_create_product},
    {"GET", "/v1/admin/products/{}", admin, read, unkeyed, none, any_body, &h::admin_get_product},
    {"PATCH", "/v1/admin/products/{}", admin, write, unkeyed, json, any_body, &h::admin_patch_product},
    {"DELETE", "/v1/admin/products/{}", admin, write, unkeyed, none, any_body, &h::admin_deactivate_product},
    {"POST", "/v1/admin/products/{}/stock", admin, write, unkeyed, json, any_body, &h::admin_adjust_stock},
    // Cart (handlers/cart.cc).
    {"GET", "/v1/cart", user, read, unkeyed, none, any_body, &h::get_cart},
    {"DELETE", "/v1/cart", user, write, unkeyed, none, any_body, &h::clear_cart},
    {"POST", "/v1/cart/items", user, write, keyed, json, any_body, &h::add_cart_item},
    {"PATCH", "/v1/cart/items/{}", user, write, unkeyed, json, any_body, &h::set_cart_item},
    {"DELETE", "/v1/cart/items/{}", user, write, unkeyed, none, any_body, &h::remove_cart_item},
    // Addresses and shipping (handlers/addresses.cc).
    {"GET", "/v1/addresses", user, read, unkeyed, none, any_body, &h::list_addresses},
    {"POST", "/v1/addresses", user, write, unkeyed, json, any_body, &h::add_address},
    {"DELETE", "/v1/addresses/{}", user, write, unkeyed, none, any_body, &h::delete_address},
    {"GET", "/v1/shipping-methods", anyone, read, unkeyed, none, any_body, &h::shipping_methods},
    {"PUT", "/v1/admin/shipping-methods", admin, write, unkeyed, json, any_body,
     &h::admin_replace_shipping_methods},
    // Webhook registrations (handlers/webhooks.cc).
    {"POST", "/v1/admin/webhooks", admin, write, unkeyed, json, any_body, &h::admin_add_webhook},
    {"GET", "/v1/admin/webhooks", admin, read, unkeyed, none, any_body, &h::admin_list_webhooks},
    {"GET", "/v1/admin/webhooks/{}", admin, read, unkeyed, none, any_body, &h::admin_get_webhook},
    {"DELETE", "/v1/admin/webhooks/{}", admin, write, unkeyed, none, any_body, &h::admin_delete_webhook},
    // Checkout and orders (handlers/orders.cc). A preview is a POST that changes nothing.
    {"POST", "/v1/checkout/preview", user, read, unkeyed, json, any_body, &h::checkout_preview},
    {"POST", "/v1/orders", user, write, keyed, json, any_body, &h::place_order},
    {"GET", "/v1/orders", user, read, unkeyed, none, any_body, &h::list_orders},
    {"GET", "/v1/orders/{}", user, read, unkeyed, none, any_body, &h::get_order},
    {"POST", "/v1/orders/{}/cancel", user, write, unkeyed, none, any_body, &h::cancel_order},
    {"GET", "/v1/admin/orders", admin, read, unkeyed, none, any_body, &h::admin_list_orders},
    {"POST", "/v1/admin/orders/{}/status", admin, write, unkeyed, json, any_body, &h::admin_set_status},
    // Payments (handlers/payments.cc).
    {"POST", "/v1/orders/{}/payments", user, write, keyed, json, any_body, &h::pay_order},
    {"POST", "/v1/webhooks/payments", anyone, write, unkeyed, raw, any_body, &h::payment_webhook},
    // Notifications (handlers/notifications.cc).
    {"GET", "/v1/notifications", user, read, unkeyed, none, any_body, &h::list_notifications},
    // Drops, queue tickets, draw entries, waitlists (handlers/drops.cc). A join or an entry
    // answers 201 the first time, then 200 with the same ticket or entry.
    {"POST", "/v1/admin/drops", admin, write, unkeyed, json, any_body, &h::admin_create_drop},
    {"GET", "/v1/admin/drops/{}", admin, read, unkeyed, none, any_body, &h::admin_get_drop},
    {"POST", "/v1/admin/drops/{}/pause", admin, write, unkeyed, none, any_body, &h::admin_pause_drop},
    {"POST", "/v1/admin/drops/{}/resume", admin, write, unkeyed, none, any_body, &h::admin_resume_drop},
    {"POST", "/v1/admin/drops/{}/close", admin, write, unkeyed, none, any_body, &h::admin_close_drop},
    {"GET", "/v1/drops/{}", anyone, read, unkeyed, none, any_body, &h::get_drop},
    {"POST", "/v1/drops/{}/queue", user, write, unkeyed, none, any_body, &h::join_queue},
    {"GET", "/v1/drops/{}/queue/me", user, read, unkeyed, none, any_body, &h::get_ticket},
    {"DELETE", "/v1/drops/{}/queue/me", user, write, unkeyed, none, any_body, &h::leave_queue},
    {"POST", "/v1/drops/{}/entries", user, write, unkeyed, none, any_body, &h::enter_draw},
    {"GET", "/v1/drops/{}/entries/me", user, read, unkeyed, none, any_body, &h::get_entry},
    {"POST", "/v1/products/{}/waitlist", user, write, unkeyed, json, any_body, &h::join_waitlist},
    {"GET", "/v1/products/{}/waitlist/me", user, read, unkeyed, none, any_body, &h::get_waitlist_place},
    {"DELETE", "/v1/products/{}/waitlist/me", user, write, unkeyed, none, any_body, &h::leave_waitlist},
    // Replication (handlers/cluster.cc).
    {"GET", "/v1/admin/cluster", admin, read, unkeyed, none, any_body, &h::admin_cluster},
    {"GET", "/v1/admin/snapshot", admin, read, unkeyed, none, any_body, &h::admin_snapshot},
    // Operations (handlers/operations.cc).
    {"GET", "/healthz", anyone, read, unkeyed, none, any_body, &h::healthz},
    {"GET", "/readyz", anyone, read, unkeyed, none, any_body, &h::readyz},
    {"GET", "/metrics", anyone, read, unkeyed, none, any_body, &h::metrics_text},
    // Pages and documents (handlers/pages.cc).
    {"GET", "/dashboard", anyone, read, unkeyed, none, any_body, &h::dashboard},
    {"GET", "/openapi.json", anyone, read, unkeyed, none, any_body, &h::openapi},
};
// One metrics slot per route, and one for requests that matched none.
static_assert(std::size(routes) < metrics::routes_max);

// Each pattern split once, for the life of the process.
const std::vector<std::vector<std::string_view>>& split_patterns() {
  static const std::vector<std::vector<std::string_view>> patterns = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const auto& r : routes) out.push_back(split_path(r.pattern));
    return out;
  }();
  return patterns;
}

// Does `segments` match `pattern`? Fills `captured` with the "{}" segments.
bool matches(const std::vector<std::string_view>& pattern,
             const std::vector<std::string_view>& segments, std::vector<std::string>& captured) {
  if (pattern.size() != segments.size()) return false;
  captured.clear();
  for (size_t s = 0; s < pattern.size(); ++s) {
    if (pattern[s] == "{}") {
      if (segments[s].empty()) return false;
      captured.emplace_back(segments[s]);
    } else if (pattern[s] != segments[s]) {
      return false;
    }
  }
  return true;
}

// The route `method` names on `path`: its index, or none; `path_known` when another
// method's route has the path.
struct lookup {
  std::optional<size_t> index;
  bool path_known = false;
};
lookup find_route(std::string_view method, std::string_view path, std::vector<std::string>& params) {
  const auto& patterns = split_patterns();
  auto segments = split_path(path);
  lookup found;
  for (size_t i = 0; i < std::size(routes); ++i) {
    if (!matches(patterns[i], segments, params)) continue;
    found.path_known = true;
    if (method != routes[i].method) continue;
    found.index = i;
    return found;
  }
  return found;
}

// The methods a known path takes, for a 405's Allow header (RFC 9110, 15.5.6).
std::string allowed_methods(std::string_view path) {
  const auto& patterns = split_patterns();
  auto segments = split_path(path);
  std::vector<std::string> params;
  std::string allow;
  for (size_t i = 0; i < std::size(routes); ++i) {
    if (!matches(patterns[i], segments, params)) continue;
    std::string_view m = routes[i].method;
    if (allow.find(m) != std::string::npos) continue;
    allow += (allow.empty() ? "" : ", ") + std::string(m);
    if (m == "GET") allow += ", HEAD";  // every GET route answers HEAD (server/http_session.cc)
  }
  return allow;
}

}  // namespace

std::span<const route> api::table() { return routes; }

std::vector<std::string> api::route_names() {
  std::vector<std::string> names;
  for (const auto& r : routes) names.push_back(std::string(r.method) + " " + r.pattern);
  return names;
}

api::api(engine& eng, const server_settings& settings, boost::asio::any_io_executor executor,
         metrics& m, uint32_t shard)
    : context_{eng, settings, std::move(executor), m}, verifier_(settings.jwt_secret), shard_(shard) {}

void api::handle(request req, size_t& route, responder respond) {
  std::vector<std::string> params;
  lookup found = find_route(req.method, req.path, params);
  if (found.index) {
    route = *found.index;
    call c{std::move(req), std::move(params), {}, false, {}, std::move(respond)};
    run(routes[*found.index], c);
    return;
  }
  route = metrics::routes_max - 1;
  if (found.path_known) {
    response out = http_error(405, "method_not_allowed", "this path does not take " + req.method);
    out.headers.emplace_back("Allow", allowed_methods(req.path));
    respond(std::move(out));
  } else {
    respond(http_error(404, "not_found", "no such route"));
  }
}

std::optional<size_t> api::refused_early(std::string_view method, std::string_view target) {
  // The gates first (two relaxed loads a shard): a server that admits writes pays nothing
  // more, and reads are never shed.
  if (method == "GET" || !context_.eng.writes_refused(steady_now_ns())) return std::nullopt;
  request r;
  parse_target(target, r);
  std::vector<std::string> params;
  lookup found = find_route(method, r.path, params);
  if (!found.index || routes[*found.index].kind != route_kind::write) return std::nullopt;
  context_.eng.count_shed(shard_);
  return found.index;
}

size_t api::body_bytes_max(std::string_view method, std::string_view target) const {
  request r;
  parse_target(target, r);
  std::vector<std::string> params;
  lookup found = find_route(method, r.path, params);
  return found.index ? routes[*found.index].body_bytes_max : request_body_bytes_max;
}

std::optional<identity> api::identify(std::string_view authorization, std::string_view token) {
  if (auto bearer = bearer_token(authorization)) return verifier_.verify(*bearer, unix_now_s());
  if (!token.empty()) return verifier_.verify(token, unix_now_s());
  return std::nullopt;
}

void api::run(const route& r, call& c) {
  if (c.req.body.size() > r.body_bytes_max)
    return c.respond(http_error(413, "payload_too_large",
                                "the body is over " + std::to_string(r.body_bytes_max) + " bytes"));
  // A standby or replica answers not_primary before authentication (API.md).
  if (!handlers::serves_when_following(r.pattern, r.fn)) {
    if (auto refused = handlers::not_primary_answer(context_)) return c.respond(std::move(*refused));
  } else if (handlers::reads_the_store(r.fn)) {
    if (auto refused = handlers::rebuilding_answer(context_)) return c.respond(std::move(*refused));
  }
  // Authentication, then role.
  if (!c.req.authorization.empty() || r.who != access::anyone) {
    std::optional<identity> who = identify(c.req.authorization, {});
    if (!who && r.who != access::anyone)
      return c.respond(http_error(401, "unauthorized", "a valid bearer token is required"));
    if (who) {
      c.who = std::move(*who);
      c.authenticated = true;
    }
  }
  if (r.who == access::admin && !c.who.admin)
    return c.respond(http_error(403, "forbidden", "this route is for admins"));
  if (!c.req.query_ok) return c.respond(http_error(400, "invalid_request", "malformed request target: a bad percent-escape in the path or the query"));
  // No body at all (and no Content-Type) is an object with every field absent: a route
  // whose fields are all optional (a checkout preview) takes it, the others name what is
  // missing. A body that is there must be JSON (415).
  if (r.body == body_kind::json && !(c.req.body.empty() && c.req.content_type.empty())) {
    if (!is_json_media_type(c.req.content_type))
      return c.respond(http_error(415, "unsupported_media_type",
                                  "send the body as Content-Type: application/json"));
    auto v = parse_body(c.req.body);
    if (!v) return c.respond(http_error(400, "invalid_request", "the body is not valid JSON"));
    if (!v->is_object())
      return c.respond(http_error(400, "invalid_request", "the body must be a JSON object"));
    c.body = std::move(v->as_object());
  }
  if (c.req.idempotency_key &&
      (c.req.idempotency_key->empty() ||
       c.req.idempotency_key->size() > limits::idempotency_key_length_max))
    return c.fail(field_error("Idempotency-Key", "Idempotency-Key must be 1.." +
                                                     std::to_string(limits::idempotency_key_length_max) +
                                                     " characters"));
  r.fn(context_, c);
}

}  // namespace stampede::http
