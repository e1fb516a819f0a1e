// Products: the public catalog (with ETags and a rendered-body cache per shard) and the
// admin's product routes.
#include "core/ids.h"
#include "server/handlers/handlers.h"

namespace stampede::http::handlers {

namespace {

// An id or a name is read whole and then checked by the catalog, whose message gives the
// rule (a reader's bound would name a length one past it).
constexpr size_t text_read_bytes_max = 4096;
error bad_product_field(const reader& rd) {
  return bad_field(rd, {{"id", "id must match [A-Za-z0-9._-]{1,64}"}, {"name", "name must be 1..200 bytes"}});
}

std::string etag_of(const std::string& body) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"",
                static_cast<unsigned long long>(content_hash(body)));
  return buf;
}

// RFC 9110 13.1.2: "*", or a list of entity tags compared weakly (W/"x" matches "x").
bool etag_matches(std::string_view if_none_match, std::string_view tag) {
  while (!if_none_match.empty()) {
    size_t comma = if_none_match.find(',');
    std::string_view one = if_none_match.substr(0, comma);
    if_none_match = comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    if (one.substr(0, 2) == "W/") one.remove_prefix(2);
    if (one == "*" || one == tag) return true;
  }
  return false;
}

// A cacheable answer: ETag, and 304 when the client has it.
response with_etag(const std::string& if_none_match, response r) {
  std::string tag = etag_of(r.body);
  if (etag_matches(if_none_match, tag)) {
    r.status = 304;
    r.body.clear();
  }
  r.headers.emplace_back("ETag", std::move(tag));
  return r;
}

// Public lists hide inactive products and the stock counts, and carry an ETag.
void list_products_as(handler_context& ctx, call& c, bool admin) {
  auto pg = read_paging(c.req);
  if (!pg) return c.fail(bad_limit());
  std::string q;
  if (auto it = c.req.query.find("q"); it != c.req.query.end()) q = it->second;
  ctx.eng.list_products(
      pg->cursor, pg->limit, q, admin,
      answer<page<product_view>>(ctx, c, [&ctx, admin, inm = c.req.if_none_match](page<product_view> p) {
        response r = json_response(200, page_json(p, [&](const auto& x) {
                                     return to_json(x, ctx.settings.pres, admin);
                                   }));
        return admin ? r : with_etag(inm, std::move(r));
      }));
}

// The product's public body, rendered again only when its version moved.
const rendered_product& rendered(handler_context& ctx, const product_view& p) {
  auto& cache = ctx.rendered_products;
  auto it = cache.find(p.id);
  if (it == cache.end() || it->second.version != p.version) {
    if (cache.size() >= rendered_products_max) cache.clear();
    std::string body = json::serialize(to_json(p, ctx.settings.pres, false));
    std::string tag = etag_of(body);
    it = cache.insert_or_assign(p.id, rendered_product{p.version, std::move(body), std::move(tag)}).first;
  }
  return it->second;
}

response admin_view(handler_context& ctx, unsigned status, const product_view& p) {
  return json_response(status, to_json(p, ctx.settings.pres, true));
}

}  // namespace

void list_products(handler_context& ctx, call& c) { list_products_as(ctx, c, /*admin=*/false); }
void admin_list_products(handler_context& ctx, call& c) { list_products_as(ctx, c, /*admin=*/true); }

void get_product(handler_context& ctx, call& c) {
  if (!is_valid_product_id(c.params[0]))
    return c.respond(http_error(404, "not_found", "no such product"));
  ctx.eng.get_product(c.params[0], false,
                      answer<product_view>(ctx, c, [&ctx, inm = c.req.if_none_match](product_view p) {
                        const rendered_product& cached = rendered(ctx, p);
                        response r;
                        r.headers.emplace_back("ETag", cached.etag);
                        if (etag_matches(inm, cached.etag)) {
                          r.status = 304;
                        } else {
                          r.body = cached.body;
                        }
                        return r;
                      }));
}

void admin_get_product(handler_context& ctx, call& c) {
  ctx.eng.get_product(c.params[0], true, answer<product_view>(ctx, c, [&ctx](product_view p) {
                        return admin_view(ctx, 200, p);
                      }));
}

void admin_create_product(handler_context& ctx, call& c) {
  reader rd{c.body};
  product_create pc;
  auto id = rd.str("id", text_read_bytes_max);
  auto name = rd.str("name", text_read_bytes_max);
  auto price = rd.integer("price", 0, limits::price_minor_max);
  auto description = rd.str("description", limits::product_description_length_max);
  auto images = rd.str_list("images", limits::product_images_max,
                            limits::product_image_url_length_max);
  auto on_hand = rd.integer("on_hand", 0, limits::on_hand_max);
  auto max_per_user = rd.integer("max_per_user", 0, limits::max_per_user_max);
  auto max_per_address = rd.integer("max_per_address", 0, limits::account_limit_max);
  auto max_per_card = rd.integer("max_per_card", 0, limits::account_limit_max);
  auto starts = rd.time_or_null("sale_starts_at");
  auto ends = rd.time_or_null("sale_ends_at");
  if (!rd.bad.empty()) return c.fail(bad_product_field(rd));
  if (!id) return c.fail(field_error("id", "id is required"));
  if (!name) return c.fail(field_error("name", "name is required"));
  if (!price) return c.fail(field_error("price", "price is required"));
  pc.id = std::move(*id);
  pc.name = std::move(*name);
  pc.price = *price;
  if (description) pc.description = std::move(*description);
  if (images) pc.images = std::move(*images);
  if (on_hand) pc.on_hand = *on_hand;
  if (max_per_user) pc.max_per_user = *max_per_user;
  if (max_per_address) pc.max_per_address = *max_per_address;
  if (max_per_card) pc.max_per_card = *max_per_card;
  if (starts) pc.sale_starts_at_ms = *starts;
  if (ends) pc.sale_ends_at_ms = *ends;
  ctx.eng.create_product(std::move(pc), answer<product_view>(ctx, c, [&ctx](product_view p) {
                           return admin_view(ctx, 201, p);
                         }));
}

void admin_patch_product(handler_context& ctx, call& c) {
  reader rd{c.body};
  product_patch p;
  p.name = rd.str("name", text_read_bytes_max);
  p.description = rd.str("description", limits::product_description_length_max);
  p.price = rd.integer("price", 0, limits::price_minor_max);
  p.images = rd.str_list("images", limits::product_images_max,
                         limits::product_image_url_length_max);
  p.on_hand = rd.integer("on_hand", 0, limits::on_hand_max);
  p.max_per_user = rd.integer("max_per_user", 0, limits::max_per_user_max);
  p.max_per_address = rd.integer("max_per_address", 0, limits::account_limit_max);
  p.max_per_card = rd.integer("max_per_card", 0, limits::account_limit_max);
  p.sale_starts_at_ms = rd.time_or_null("sale_starts_at");
  p.sale_ends_at_ms = rd.time_or_null("sale_ends_at");
  p.active = rd.boolean("active");
  // The admin view sent back as it was read names its own id: only another id is refused.
  if (const auto* id = c.body.if_contains("id"); id && !(id->is_string() && id->as_string() == c.params[0]))
    return c.fail(field_error("id", "a product's id cannot change"));
  if (!rd.bad.empty()) return c.fail(bad_product_field(rd));
  ctx.eng.patch_product(c.params[0], std::move(p), answer<product_view>(ctx, c, [&ctx](product_view v) {
                          return admin_view(ctx, 200, v);
                        }));
}

void admin_adjust_stock(handler_context& ctx, call& c) {
  reader rd{c.body};
  auto delta = rd.integer("delta", -limits::on_hand_max, limits::on_hand_max);
  if (!rd.bad.empty() || !delta)
    return c.fail(field_error("delta", "delta must be an integer -" + std::to_string(limits::on_hand_max) +
                                           ".." + std::to_string(limits::on_hand_max)));
  ctx.eng.adjust_stock(c.params[0], *delta, answer<product_view>(ctx, c, [&ctx](product_view v) {
                         return admin_view(ctx, 200, v);
                       }));
}

void admin_deactivate_product(handler_context& ctx, call& c) {
  ctx.eng.deactivate_product(c.params[0], answer<product_view>(ctx, c, [&ctx](product_view v) {
                               return admin_view(ctx, 200, v);
                             }));
}

}  // namespace stampede::http::handlers
