#include "server/routes.h"

#include <atomic>
#include <charconv>

#include "core/ids.h"
#include "core/limits.h"
#include "core/payments.h"
#include "server/rfc3339.h"

namespace stampede::http {

namespace {

std::atomic<bool> ready_flag{false};

int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

unsigned status_of(error_code code) {
  switch (code) {
    case error_code::invalid_request: return 400;
    case error_code::unauthorized: return 401;
    case error_code::forbidden:
    case error_code::sale_not_started:
    case error_code::sale_ended: return 403;
    case error_code::not_found: return 404;
    case error_code::payment_failed: return 402;
    case error_code::out_of_stock:
    case error_code::limit_exceeded:
    case error_code::invalid_transition:
    case error_code::cart_empty:
    case error_code::conflict: return 409;
    case error_code::idempotency_mismatch:
    case error_code::amount_mismatch: return 422;
    case error_code::rate_limited: return 429;
    case error_code::overloaded: return 503;
    case error_code::io_error:
    case error_code::corruption: return 500;
  }
  return 500;
}

response json_response(unsigned status, const json::value& v) {
  response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

// Every cart answer is the same streamed text, whichever route changed the cart.
response cart_response(const cart_view& c, const presentation& pr) {
  response r;
  r.body = cart_text(c, pr);
  return r;
}

response bad_field(std::string field, std::string message) {
  error_details d;
  d.field = std::move(field);
  return error_response(make_error(error_code::invalid_request, std::move(message), std::move(d)));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space only in query strings.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

struct paging {
  std::string cursor;
  int64_t limit = limits::page_limit_default;
};

std::optional<paging> read_paging(const request& req) {
  paging p;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() ||
        n < limits::page_limit_min || n > limits::page_limit_max)
      return std::nullopt;
    p.limit = n;
  }
  if (auto it = req.query.find("cursor"); it != req.query.end()) p.cursor = it->second;
  return p;
}

template <class T, class F>
json::value page_json(const page<T>& pg, F&& item) {
  json::array items;
  for (const auto& x : pg.items) items.push_back(item(x));
  return json::object{{"items", std::move(items)},
                      {"next_cursor", pg.next_cursor.empty() ? json::value(nullptr)
                                                             : json::value(pg.next_cursor)}};
}

std::string etag_of(const std::string& body) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"",
                static_cast<unsigned long long>(content_hash(body)));
  return buf;
}

// A cacheable answer: ETag, and 304 when the client has it.
response with_etag(const std::string& if_none_match, response r) {
  std::string tag = etag_of(r.body);
  if (!if_none_match.empty() && (if_none_match == tag || if_none_match == "*")) {
    r.status = 304;
    r.body.clear();
  }
  r.headers.emplace_back("ETag", std::move(tag));
  return r;
}

}  // namespace

void set_ready(bool ready) { ready_flag.store(ready, std::memory_order_release); }

response error_response(const error& e) {
  response r = json_response(status_of(e.code), error_json(e));
  if (e.code == error_code::overloaded || e.code == error_code::rate_limited)
    r.headers.emplace_back("Retry-After", "1");
  return r;
}

response http_error(unsigned status, std::string_view code, std::string message) {
  response r;
  r.status = status;
  r.body = json::serialize(json::object{
      {"error", json::object{{"code", code}, {"message", message}, {"details", json::object{}}}}});
  return r;
}

void parse_target(std::string_view target, request& out) {
  size_t q = target.find('?');
  auto path = percent_decode(target.substr(0, q), false);
  if (!path) {
    out.query_ok = false;
    out.path = std::string(target.substr(0, q));
  } else {
    out.path = std::move(*path);
  }
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) {
      out.query_ok = false;
    } else if (!key->empty()) {
      out.query.insert_or_assign(std::move(*key), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
}

// ---------------------------------------------------------------------------------------
// The route table. Order matters only for readability: a path matches at most one pattern
// per method. `json_body` routes refuse a body that is not a JSON object before the
// handler runs; `who` is checked before the body.

const std::vector<api::route>& api::table() {
  static const std::vector<route> routes{
      {"GET", "/v1/products", access::anyone, false, &api::list_products},
      {"GET", "/v1/products/{}", access::anyone, false, &api::get_product},
      {"GET", "/v1/admin/products", access::admin, false, &api::admin_list_products},
      {"POST", "/v1/admin/products", access::admin, true, &api::admin_create_product},
      {"GET", "/v1/admin/products/{}", access::admin, false, &api::admin_get_product},
      {"PATCH", "/v1/admin/products/{}", access::admin, true, &api::admin_patch_product},
      {"DELETE", "/v1/admin/products/{}", access::admin, false, &api::admin_deactivate_product},
      {"POST", "/v1/admin/products/{}/stock", access::admin, true, &api::admin_adjust_stock},
      {"GET", "/v1/cart", access::user, false, &api::get_cart},
      {"DELETE", "/v1/cart", access::user, false, &api::clear_cart},
      {"POST", "/v1/cart/items", access::user, true, &api::add_cart_item},
      {"PATCH", "/v1/cart/items/{}", access::user, true, &api::set_cart_item},
      {"DELETE", "/v1/cart/items/{}", access::user, false, &api::remove_cart_item},
      {"GET", "/v1/addresses", access::user, false, &api::list_addresses},
      {"POST", "/v1/addresses", access::user, true, &api::add_address},
      {"DELETE", "/v1/addresses/{}", access::user, false, &api::delete_address},
      {"GET", "/v1/shipping-methods", access::anyone, false, &api::shipping_methods},
      {"PUT", "/v1/admin/shipping-methods", access::admin, true,
       &api::admin_replace_shipping_methods},
      {"POST", "/v1/admin/webhooks", access::admin, true, &api::admin_add_webhook},
      {"GET", "/v1/admin/webhooks", access::admin, false, &api::admin_list_webhooks},
      {"GET", "/v1/admin/webhooks/{}", access::admin, false, &api::admin_get_webhook},
      {"DELETE", "/v1/admin/webhooks/{}", access::admin, false, &api::admin_delete_webhook},
      {"POST", "/v1/checkout/preview", access::user, true, &api::checkout_preview},
      {"POST", "/v1/orders", access::user, true, &api::place_order},
      {"GET", "/v1/orders", access::user, false, &api::list_orders},
      {"GET", "/v1/orders/{}", access::user, false, &api::get_order},
      {"POST", "/v1/orders/{}/cancel", access::user, false, &api::cancel_order},
      {"POST", "/v1/orders/{}/payments", access::user, true, &api::pay_order},
      {"GET", "/v1/admin/orders", access::admin, false, &api::admin_list_orders},
      {"POST", "/v1/admin/orders/{}/status", access::admin, true, &api::admin_set_status},
      {"POST", "/v1/webhooks/payments", access::anyone, false, &api::payment_webhook},
      {"GET", "/v1/notifications", access::user, false, &api::list_notifications},
      {"GET", "/healthz", access::anyone, false, &api::healthz},
      {"GET", "/readyz", access::anyone, false, &api::readyz},
      {"GET", "/metrics", access::anyone, false, &api::metrics_text},
  };
  return routes;
}

std::vector<std::string> api::route_names() {
  std::vector<std::string> names;
  for (const auto& r : table()) names.push_back(std::string(r.method) + " " + r.pattern);
  return names;
}

struct api::call {
  request req;
  std::vector<std::string> params;
  identity who;
  bool authenticated = false;
  json::object body;
  responder respond;
};

api::api(engine& eng, const server_settings& settings, boost::asio::any_io_executor executor,
         metrics& m)
    : engine_(eng),
      settings_(settings),
      executor_(std::move(executor)),
      metrics_(m),
      verifier_(settings.jwt_secret) {}

template <class T>
reply<T> api::answer(call& c, absl::AnyInvocable<response(T)> ok) {
  return reply<T>(executor_, [respond = std::move(c.respond), ok = std::move(ok)](
                                 result<T> r) mutable {
    if (r.ok()) {
      respond(ok(std::move(r).value()));
    } else {
      respond(error_response(r.err()));
    }
  });
}

size_t api::handle(request req, responder respond) {
  const auto& routes = table();
  // Each pattern split once, for the life of the process.
  static const std::vector<std::vector<std::string_view>> patterns = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const auto& r : table()) out.push_back(split_path(r.pattern));
    return out;
  }();
  auto segments = split_path(req.path);
  const route* found = nullptr;
  size_t index = metrics::routes_max - 1;
  bool path_known = false;
  std::vector<std::string> params;
  for (size_t i = 0; i < routes.size() && !found; ++i) {
    const auto& pattern = patterns[i];
    if (pattern.size() != segments.size()) continue;
    std::vector<std::string> captured;
    bool match = true;
    for (size_t s = 0; s < pattern.size() && match; ++s) {
      if (pattern[s] == "{}") {
        if (segments[s].empty()) match = false;
        else captured.emplace_back(segments[s]);
      } else if (pattern[s] != segments[s]) {
        match = false;
      }
    }
    if (!match) continue;
    path_known = true;
    if (req.method != routes[i].method) continue;
    found = &routes[i];
    index = i;
    params = std::move(captured);
  }
  if (!found) {
    if (path_known) {
      respond(http_error(405, "method_not_allowed", "this path does not take " + req.method));
    } else {
      respond(http_error(404, "not_found", "no such route"));
    }
    return index;
  }
  call c{std::move(req), std::move(params), {}, false, {}, std::move(respond)};
  run(*found, c);
  return index;
}

std::optional<identity> api::identify(std::string_view auth, std::string_view token) {
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() &&
      std::equal(bearer.begin(), bearer.end(), auth.begin(),
                 [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    return verifier_.verify(auth.substr(bearer.size()), unix_now_s());
  if (!token.empty()) return verifier_.verify(token, unix_now_s());
  return std::nullopt;
}

void api::run(const route& found_route, call& c) {
  const route* found = &found_route;
  // Authentication, then role.
  if (!c.req.authorization.empty() || found->who != access::anyone) {
    std::string_view auth = c.req.authorization;
    constexpr std::string_view bearer = "Bearer ";
    std::optional<identity> who;
    if (auth.size() > bearer.size() &&
        std::equal(bearer.begin(), bearer.end(), auth.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      who = verifier_.verify(auth.substr(bearer.size()), unix_now_s());
    if (!who && found->who != access::anyone)
      return c.respond(http_error(401, "unauthorized", "a valid bearer token is required"));
    if (who) {
      c.who = std::move(*who);
      c.authenticated = true;
    }
  }
  if (found->who == access::admin && !c.who.admin)
    return c.respond(http_error(403, "forbidden", "this route is for admins"));
  if (!c.req.query_ok)
    return c.respond(http_error(400, "invalid_request", "malformed query string"));
  // The body.
  if (found->json_body) {
    std::string_view type = c.req.content_type;
    std::string_view media = type.substr(0, type.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    bool is_json = media.size() == 16 &&
                   std::equal(media.begin(), media.end(), "application/json",
                              [](char a, char b) { return std::tolower(a) == b; });
    if (!is_json)
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
    return c.respond(bad_field("Idempotency-Key", "Idempotency-Key must be 1..255 characters"));
  (this->*(found->fn))(c);
}

// ---------------------------------------------------------------------------------------
// Catalog

void api::list_products(call& c) { list_products_as(c, /*admin=*/false); }
void api::admin_list_products(call& c) { list_products_as(c, /*admin=*/true); }

// Public lists hide inactive products and the stock counts, and carry an ETag.
void api::list_products_as(call& c, bool admin) {
  auto pg = read_paging(c.req);
  if (!pg) return c.respond(bad_field("limit", "limit must be an integer 1..200"));
  std::string q;
  if (auto it = c.req.query.find("q"); it != c.req.query.end()) q = it->second;
  engine_.list_products(
      pg->cursor, pg->limit, q, admin,
      answer<page<product_view>>(c, [this, admin, inm = c.req.if_none_match](page<product_view> p) {
        response r = json_response(200, page_json(p, [&](const auto& x) {
                                     return to_json(x, settings_.pres, admin);
                                   }));
        return admin ? r : with_etag(inm, std::move(r));
      }));
}

void api::get_product(call& c) {
  if (!is_valid_product_id(c.params[0]))
    return c.respond(http_error(404, "not_found", "no such product"));
  std::string inm = c.req.if_none_match;
  engine_.get_product(c.params[0], false,
                      answer<product_view>(c, [this, inm](product_view p) {
                        auto it = product_cache_.find(p.id);
                        if (it == product_cache_.end() || it->second.version != p.version) {
                          if (product_cache_.size() >= product_cache_max) product_cache_.clear();
                          std::string body = json::serialize(to_json(p, settings_.pres, false));
                          std::string tag = etag_of(body);
                          it = product_cache_.insert_or_assign(p.id, rendered_product{p.version, std::move(body), std::move(tag)}).first;
                        }
                        response r;
                        r.headers.emplace_back("ETag", it->second.etag);
                        if (!inm.empty() && (inm == it->second.etag || inm == "*")) {
                          r.status = 304;
                        } else {
                          r.body = it->second.body;
                        }
                        return r;
                      }));
}

void api::admin_get_product(call& c) {
  engine_.get_product(c.params[0], true, answer<product_view>(c, [this](product_view p) {
                        return json_response(200, to_json(p, settings_.pres, true));
                      }));
}

void api::admin_create_product(call& c) {
  reader rd{c.body};
  product_create pc;
  auto id = rd.str("id", limits::product_id_length_max + 1);
  auto name = rd.str("name", limits::product_name_length_max + 1);
  auto price = rd.integer("price", 0, limits::price_minor_max);
  auto description = rd.str("description", limits::product_description_length_max);
  auto images = rd.str_list("images", limits::product_images_max,
                            limits::product_image_url_length_max);
  auto on_hand = rd.integer("on_hand", 0, limits::on_hand_max);
  auto max_per_user = rd.integer("max_per_user", 0, limits::max_per_user_max);
  auto starts = rd.time_or_null("sale_starts_at");
  auto ends = rd.time_or_null("sale_ends_at");
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, rd.bad + " has the wrong type or is out of range"));
  if (!id) return c.respond(bad_field("id", "id is required"));
  if (!name) return c.respond(bad_field("name", "name is required"));
  if (!price) return c.respond(bad_field("price", "price is required"));
  pc.id = std::move(*id);
  pc.name = std::move(*name);
  pc.price = *price;
  if (description) pc.description = std::move(*description);
  if (images) pc.images = std::move(*images);
  if (on_hand) pc.on_hand = *on_hand;
  if (max_per_user) pc.max_per_user = *max_per_user;
  if (starts) pc.sale_starts_at_ms = *starts;
  if (ends) pc.sale_ends_at_ms = *ends;
  engine_.create_product(std::move(pc), answer<product_view>(c, [this](product_view p) {
                           return json_response(201, to_json(p, settings_.pres, true));
                         }));
}

void api::admin_patch_product(call& c) {
  reader rd{c.body};
  product_patch p;
  p.name = rd.str("name", limits::product_name_length_max + 1);
  p.description = rd.str("description", limits::product_description_length_max);
  p.price = rd.integer("price", 0, limits::price_minor_max);
  p.images = rd.str_list("images", limits::product_images_max,
                         limits::product_image_url_length_max);
  p.on_hand = rd.integer("on_hand", 0, limits::on_hand_max);
  p.max_per_user = rd.integer("max_per_user", 0, limits::max_per_user_max);
  p.sale_starts_at_ms = rd.time_or_null("sale_starts_at");
  p.sale_ends_at_ms = rd.time_or_null("sale_ends_at");
  p.active = rd.boolean("active");
  if (rd.has("id")) return c.respond(bad_field("id", "a product's id cannot change"));
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, rd.bad + " has the wrong type or is out of range"));
  engine_.patch_product(c.params[0], std::move(p), answer<product_view>(c, [this](product_view v) {
                          return json_response(200, to_json(v, settings_.pres, true));
                        }));
}

void api::admin_adjust_stock(call& c) {
  reader rd{c.body};
  auto delta = rd.integer("delta", -limits::on_hand_max, limits::on_hand_max);
  if (!rd.bad.empty() || !delta)
    return c.respond(bad_field("delta", "delta must be an integer -1000000000..1000000000"));
  engine_.adjust_stock(c.params[0], *delta, answer<product_view>(c, [this](product_view v) {
                         return json_response(200, to_json(v, settings_.pres, true));
                       }));
}

void api::admin_deactivate_product(call& c) {
  engine_.deactivate_product(c.params[0], answer<product_view>(c, [this](product_view v) {
                               return json_response(200, to_json(v, settings_.pres, true));
                             }));
}

// ---------------------------------------------------------------------------------------
// Cart

void api::get_cart(call& c) {
  engine_.get_cart(c.who.user_id, answer<cart_view>(c, [this](cart_view v) {
                     return cart_response(v, settings_.pres);
                   }));
}

void api::add_cart_item(call& c) {
  reader rd{c.body};
  auto product_id = rd.str("product_id", 1024);
  auto quantity = rd.integer("quantity", limits::quantity_min, limits::quantity_max);
  if (!rd.bad.empty())
    return c.respond(bad_field(rd.bad, rd.bad == "quantity" ? "quantity must be an integer 1..10000"
                                                            : rd.bad + " has the wrong type"));
  if (!product_id) return c.respond(bad_field("product_id", "product_id is required"));
  if (!quantity) return c.respond(bad_field("quantity", "quantity is required"));
  engine_.add_item(c.who.user_id, std::move(*product_id), *quantity, c.req.idempotency_key,
                   answer<idempotent<cart_view>>(c, [this](idempotent<cart_view> v) {
                     response r = cart_response(v.value, settings_.pres);
                     if (v.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
                     return r;
                   }));
}

void api::set_cart_item(call& c) {
  reader rd{c.body};
  auto quantity = rd.integer("quantity", 0, limits::quantity_max);
  if (!rd.bad.empty() || !quantity)
    return c.respond(bad_field("quantity", "quantity must be an integer 0..10000"));
  engine_.set_item(c.who.user_id, c.params[0], *quantity, answer<cart_view>(c, [this](cart_view v) {
                     return cart_response(v, settings_.pres);
                   }));
}

void api::remove_cart_item(call& c) {
  engine_.remove_item(c.who.user_id, c.params[0], answer<cart_view>(c, [this](cart_view v) {
                        return cart_response(v, settings_.pres);
                      }));
}

void api::clear_cart(call& c) {
  engine_.clear_cart(c.who.user_id, answer<cart_view>(c, [this](cart_view v) {
                       return cart_response(v, settings_.pres);
                     }));
}

// ---------------------------------------------------------------------------------------
// Addresses and shipping

void api::list_addresses(call& c) {
  engine_.list_addresses(c.who.user_id,
                         answer<std::vector<address>>(c, [](std::vector<address> list) {
                           json::array items;
                           for (const auto& a : list) items.push_back(to_json(a));
                           return json_response(200, json::object{{"items", std::move(items)}});
                         }));
}

void api::add_address(call& c) {
  reader rd{c.body};
  address a;
  const std::pair<const char*, std::string*> fields[] = {
      {"name", &a.name},     {"line1", &a.line1},   {"line2", &a.line2},
      {"city", &a.city},     {"region", &a.region}, {"postal_code", &a.postal_code},
      {"country", &a.country}, {"phone", &a.phone}};
  for (auto [key, into] : fields) {
    auto v = rd.str(key, limits::address_field_length_max);
    if (v) *into = std::move(*v);
  }
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, rd.bad + " must be a string of at most 200 bytes"));
  engine_.add_address(c.who.user_id, std::move(a), answer<address>(c, [](address saved) {
                        return json_response(201, to_json(saved));
                      }));
}

void api::delete_address(call& c) {
  engine_.delete_address(c.who.user_id, c.params[0], answer<ok_t>(c, [](ok_t) {
                           response r;
                           r.status = 204;
                           return r;
                         }));
}

void api::shipping_methods(call& c) {
  engine_.shipping_methods(answer<std::vector<shipping_method>>(c, [](std::vector<shipping_method> m) {
    return json_response(200, json::object{{"items", to_json(m)}});
  }));
}

void api::admin_replace_shipping_methods(call& c) {
  auto items = c.body.if_contains("items");
  if (!items || !items->is_array() || items->as_array().size() > limits::shipping_methods_max)
    return c.respond(bad_field("items", "items must be an array of 1..20 shipping methods"));
  std::vector<shipping_method> methods;
  for (const auto& v : items->as_array()) {
    if (!v.is_object()) return c.respond(bad_field("items", "each item must be an object"));
    reader rd{v.as_object()};
    auto id = rd.str("id", 64);
    auto name = rd.str("name", limits::product_name_length_max);
    auto price = rd.integer("price", 0, limits::price_minor_max);
    if (!rd.bad.empty() || !id || !name || !price)
      return c.respond(bad_field(rd.bad.empty() ? "items" : rd.bad,
                                 "each item needs an id, a name and a price >= 0"));
    methods.push_back({std::move(*id), std::move(*name), *price});
  }
  engine_.replace_shipping_methods(
      std::move(methods), answer<std::vector<shipping_method>>(c, [](std::vector<shipping_method> m) {
        return json_response(200, json::object{{"items", to_json(m)}});
      }));
}

// ---------------------------------------------------------------------------------------
// Webhooks

namespace {
// A registration as the admin sees it: never its secret.
json::value webhook_json(const webhook& w) {
  json::array events;
  for (const auto& e : w.events) events.emplace_back(e);
  return json::object{{"id", w.id},
                      {"url", w.url},
                      {"events", std::move(events)},
                      {"created_at", format_rfc3339_ms(w.created_at_ms)}};
}
}  // namespace

void api::admin_add_webhook(call& c) {
  reader rd{c.body};
  webhook w;
  auto url = rd.str("url", limits::webhook_url_length_max);
  auto secret = rd.str("secret", 256);
  auto events = rd.str_list("events", 20, 64);
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, "url and secret are strings; events a list of strings"));
  if (!url) return c.respond(bad_field("url", "url is required"));
  if (!secret) return c.respond(bad_field("secret", "secret is required"));
  w.url = std::move(*url);
  w.secret = std::move(*secret);
  w.events = events ? std::move(*events) : std::vector<std::string>{"order.*"};
  engine_.add_webhook(std::move(w), answer<webhook>(c, [](webhook made) {
                        return json_response(201, webhook_json(made));
                      }));
}

void api::admin_list_webhooks(call& c) {
  engine_.list_webhooks(answer<std::vector<webhook>>(c, [](std::vector<webhook> list) {
    json::array items;
    for (const auto& w : list) items.push_back(webhook_json(w));
    return json_response(200, json::object{{"items", std::move(items)}});
  }));
}

void api::admin_get_webhook(call& c) {
  engine_.list_webhooks(answer<std::vector<webhook>>(c, [id = c.params[0]](std::vector<webhook> list) {
    for (const auto& w : list)
      if (w.id == id) return json_response(200, webhook_json(w));
    return http_error(404, "not_found", "no such webhook");
  }));
}

void api::admin_delete_webhook(call& c) {
  engine_.remove_webhook(c.params[0], answer<ok_t>(c, [](ok_t) {
                           response r;
                           r.status = 204;
                           return r;
                         }));
}

// ---------------------------------------------------------------------------------------
// Checkout and orders

namespace {
std::optional<checkout_request> read_checkout(reader& rd) {
  checkout_request req;
  if (auto v = rd.str("shipping_address_id", 64)) req.shipping_address_id = std::move(*v);
  if (auto v = rd.str("billing_address_id", 64)) req.billing_address_id = std::move(*v);
  if (auto v = rd.str("shipping_method", 64)) req.shipping_method = std::move(*v);
  if (!rd.bad.empty()) return std::nullopt;
  return req;
}
}  // namespace

void api::checkout_preview(call& c) {
  reader rd{c.body};
  auto req = read_checkout(rd);
  if (!req) return c.respond(bad_field(rd.bad, rd.bad + " must be a string"));
  engine_.preview(c.who.user_id, std::move(*req),
                  answer<checkout_summary>(c, [this](checkout_summary s) {
                    return json_response(200, to_json(s, settings_.pres));
                  }));
}

void api::place_order(call& c) {
  reader rd{c.body};
  auto req = read_checkout(rd);
  if (!req) return c.respond(bad_field(rd.bad, rd.bad + " must be a string"));
  engine_.place_order(c.who.user_id, std::move(*req), c.req.idempotency_key,
                      answer<idempotent<order>>(c, [this](idempotent<order> o) {
                        response r = json_response(201, to_json(o.value, settings_.pres));
                        if (o.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
                        return r;
                      }));
}

void api::list_orders(call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.respond(bad_field("limit", "limit must be an integer 1..200"));
  engine_.list_orders(c.who.user_id, pg->cursor, pg->limit,
                      answer<page<order>>(c, [this](page<order> p) {
                        return json_response(200, page_json(p, [&](const order& o) {
                                               return to_json(o, settings_.pres);
                                             }));
                      }));
}

void api::get_order(call& c) {
  engine_.get_order(c.params[0], c.who.user_id, c.who.admin,
                    answer<order>(c, [this](order o) {
                      return json_response(200, to_json(o, settings_.pres));
                    }));
}

void api::cancel_order(call& c) {
  engine_.cancel_order(c.params[0], c.who.user_id, c.who.admin,
                       answer<order>(c, [this](order o) {
                         return json_response(200, to_json(o, settings_.pres));
                       }));
}

void api::admin_list_orders(call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.respond(bad_field("limit", "limit must be an integer 1..200"));
  std::optional<order_status> status;
  if (auto it = c.req.query.find("status"); it != c.req.query.end()) {
    status = parse_order_status(it->second);
    if (!status) return c.respond(bad_field("status", "unknown order status"));
  }
  engine_.admin_list_orders(status, pg->cursor, pg->limit,
                            answer<page<order>>(c, [this](page<order> p) {
                              return json_response(200, page_json(p, [&](const order& o) {
                                                     return to_json(o, settings_.pres);
                                                   }));
                            }));
}

void api::admin_set_status(call& c) {
  reader rd{c.body};
  auto status_name = rd.str("status", 64);
  auto tracking = rd.str("tracking_number", 200);
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, rd.bad + " must be a string"));
  if (!status_name) return c.respond(bad_field("status", "status is required"));
  auto to = parse_order_status(*status_name);
  if (!to) return c.respond(bad_field("status", "unknown order status"));
  engine_.set_order_status(c.params[0], *to, std::move(tracking),
                           answer<order>(c, [this](order o) {
                             return json_response(200, to_json(o, settings_.pres));
                           }));
}

void api::pay_order(call& c) {
  reader rd{c.body};
  auto method = rd.str("method", 16);
  auto amount = rd.integer("amount", 0, limits::price_minor_max * 100);
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, rd.bad + " has the wrong type or is out of range"));
  if (!method || (*method != "card" && *method != "paypal"))
    return c.respond(bad_field("method", "method must be \"card\" or \"paypal\""));
  if (!amount) return c.respond(bad_field("amount", "amount is required"));
  payment_request pr;
  pr.method = *method;
  pr.amount = *amount;
  if (pr.method == "card") {
    auto card = c.body.if_contains("card");
    if (!card || !card->is_object()) return c.respond(bad_field("card", "card is required"));
    reader cr{card->as_object()};
    auto number = cr.str("number", 32);
    auto month = cr.integer("exp_month", 1, 12);
    auto year = cr.integer("exp_year", 2000, 2100);
    auto cvc = cr.str("cvc", 4);
    if (!cr.bad.empty()) return c.respond(bad_field("card." + cr.bad, "card." + cr.bad + " is malformed"));
    if (!number || !luhn_valid(*number))
      return c.respond(bad_field("card.number", "the card number is not valid"));
    if (!month || !year) return c.respond(bad_field("card.exp_month", "the expiry date is required"));
    if (!cvc || cvc->size() < 3) return c.respond(bad_field("card.cvc", "the CVC is required"));
    pr.card = card_details{std::move(*number), *month, *year, std::move(*cvc)};
  }
  engine_.pay_order(
      c.params[0], c.who.user_id, std::move(pr), c.req.idempotency_key,
      answer<idempotent<payment_result>>(c, [this](idempotent<payment_result> r) {
        const payment& p = r.value.pay;
        response out;
        if (p.status == payment_status::failed) {
          bool retryable = p.failure_reason == "insufficient_funds";
          out = json_response(
              402, json::object{{"error", json::object{{"code", "payment_failed"},
                                                       {"message", "the payment was declined"},
                                                       {"details", json::object{{"reason", p.failure_reason},
                                                                                {"payment_id", p.id},
                                                                                {"retryable", retryable}}}}}});
        } else {
          out = json_response(201, json::object{{"payment", to_json(p, settings_.pres)},
                                                {"order", to_json(r.value.order_now, settings_.pres)}});
        }
        if (r.replayed) out.headers.emplace_back("Idempotent-Replayed", "true");
        return out;
      }));
}

void api::payment_webhook(call& c) {
  // The gateway authenticates with its signature over the raw body, checked before the body.
  constexpr std::string_view prefix = "sha256=";
  std::string_view sig = c.req.signature;
  if (sig.size() <= prefix.size() || sig.substr(0, prefix.size()) != prefix ||
      !constant_time_equal(sig.substr(prefix.size()),
                           hmac_sha256_hex(settings_.gateway_secret, c.req.body)))
    return c.respond(http_error(401, "unauthorized", "bad or missing Stampede-Signature"));
  auto v = parse_body(c.req.body);
  if (!v || !v->is_object())
    return c.respond(http_error(400, "invalid_request", "the body is not a JSON object"));
  reader rd{v->as_object()};
  auto payment_id = rd.str("payment_id", 64);
  auto status = rd.str("status", 32);
  auto reason = rd.str("reason", 200);
  if (!rd.bad.empty()) return c.respond(bad_field(rd.bad, rd.bad + " must be a string"));
  if (!payment_id) return c.respond(bad_field("payment_id", "payment_id is required"));
  if (!status || (*status != "succeeded" && *status != "failed"))
    return c.respond(bad_field("status", "status must be \"succeeded\" or \"failed\""));
  engine_.settle_payment(*payment_id,
                         *status == "succeeded" ? payment_status::succeeded : payment_status::failed,
                         reason.value_or(""), answer<ok_t>(c, [](ok_t) {
                           return json_response(200, json::object{{"received", true}});
                         }));
}

void api::list_notifications(call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.respond(bad_field("limit", "limit must be an integer 1..200"));
  engine_.list_notifications(c.who.user_id, pg->cursor, pg->limit,
                             answer<page<notification>>(c, [this](page<notification> p) {
                               return json_response(200, page_json(p, [&](const notification& n) {
                                                      return to_json(n, settings_.pres);
                                                    }));
                             }));
}

// ---------------------------------------------------------------------------------------
// Operations

void api::healthz(call& c) { c.respond(json_response(200, json::object{{"status", "ok"}})); }

void api::readyz(call& c) {
  if (ready_flag.load(std::memory_order_acquire)) {
    c.respond(json_response(200, json::object{{"status", "ready"}}));
  } else {
    c.respond(json_response(503, json::object{{"status", "starting"}}));
  }
}

void api::metrics_text(call& c) {
  engine_.stats(reply<store_stats>(executor_, [this, respond = std::move(c.respond)](
                                                  result<store_stats> stats) mutable {
    response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.render(engine_, stats.ok() ? stats.value() : store_stats{});
    respond(std::move(r));
  }));
}

}  // namespace stampede::http
