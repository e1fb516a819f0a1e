#include "server/json.h"

#include "server/json_writer.h"
#include "server/rfc3339.h"

namespace stampede::http {

std::optional<json::value> parse_body(std::string_view body) {
  json::parse_options opts;
  opts.max_depth = json_depth_max;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, opts);
  if (ec) return std::nullopt;
  return v;
}


namespace {
json::value time_or_null(std::optional<int64_t> ms) {
  if (!ms) return nullptr;
  return json::value(format_rfc3339_ms(*ms));
}
json::value str_or_null(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::value(*s);
}
json::array items_json(const std::vector<order_item>& items) {
  json::array a;
  for (const auto& i : items)
    a.push_back(json::object{{"product_id", i.product_id},
                             {"name", i.name},
                             {"unit_price", i.unit_price},
                             {"quantity", i.quantity},
                             {"line_total", i.line_total}});
  return a;
}
}  // namespace

json::value to_json(const product_view& p, const presentation& pr, bool admin) {
  json::array images;
  for (const auto& i : p.images) images.push_back(json::value(i));
  json::object o{{"id", p.id},
                 {"name", p.name},
                 {"description", p.description},
                 {"price", p.price},
                 {"currency", pr.currency},
                 {"images", std::move(images)},
                 {"available", p.available},
                 {"max_per_user", p.max_per_user},
                 {"max_per_address", p.max_per_address},
                 {"max_per_card", p.max_per_card},
                 {"sale_starts_at", time_or_null(p.sale_starts_at_ms)},
                 {"sale_ends_at", time_or_null(p.sale_ends_at_ms)},
                 {"active", p.active}};
  if (admin) {
    o["on_hand"] = p.on_hand;
    o["reserved"] = p.reserved;
    o["committed"] = p.committed;
  }
  return o;
}

json::value to_json(const cart_view& c, const presentation& pr) {
  json::array items;
  for (const auto& l : c.items)
    items.push_back(json::object{{"product_id", l.product_id},
                                 {"name", l.name},
                                 {"unit_price", l.unit_price},
                                 {"quantity", l.quantity},
                                 {"line_total", l.line_total},
                                 {"held", l.held},
                                 {"held_until", time_or_null(l.held_until_ms)}});
  return json::object{{"items", std::move(items)},
                      {"subtotal", c.subtotal},
                      {"currency", pr.currency},
                      {"item_count", c.item_count}};
}

std::string cart_text(const cart_view& c, const presentation& pr) {
  std::string out;
  out.reserve(128 + 192 * c.items.size());
  json_writer w(out);
  w.begin_object().key("items").begin_array();
  for (const auto& l : c.items) {
    w.begin_object()
        .key("product_id").value(l.product_id)
        .key("name").value(l.name)
        .key("unit_price").value(l.unit_price)
        .key("quantity").value(l.quantity)
        .key("line_total").value(l.line_total)
        .key("held").value(l.held)
        .key("held_until");
    if (l.held_until_ms) {
      w.value(format_rfc3339_ms(*l.held_until_ms));
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_array()
      .key("subtotal").value(c.subtotal)
      .key("currency").value(pr.currency)
      .key("item_count").value(c.item_count)
      .end_object();
  return out;
}

json::value to_json(const address& a) {
  return json::object{{"id", a.id},       {"name", a.name},
                      {"line1", a.line1}, {"line2", a.line2},
                      {"city", a.city},   {"region", a.region},
                      {"postal_code", a.postal_code}, {"country", a.country},
                      {"phone", a.phone}};
}

json::value to_json(const shipping_method& m) {
  return json::object{{"id", m.id}, {"name", m.name}, {"price", m.price}};
}

json::value to_json(const std::vector<shipping_method>& ms) {
  json::array a;
  for (const auto& m : ms) a.push_back(to_json(m));
  return a;
}

json::value to_json(const payment& p, const presentation& pr) {
  json::object o{{"id", p.id},
                 {"status", to_string(p.status)},
                 {"method", p.method},
                 {"amount", p.amount},
                 {"currency", pr.currency},
                 {"failure_reason", p.failure_reason.empty() ? json::value(nullptr)
                                                             : json::value(p.failure_reason)},
                 {"created_at", format_rfc3339_ms(p.created_at_ms)}};
  if (p.method == "card") {
    o["card_brand"] = p.card_brand;
    o["card_last4"] = p.card_last4;
  }
  if (!p.redirect_url.empty()) o["redirect_url"] = p.redirect_url;
  return o;
}

json::value to_json(const order& o, const presentation& pr) {
  json::array payments;
  for (const auto& p : o.payments) payments.push_back(to_json(p, pr));
  json::array history;
  for (const auto& h : o.history)
    history.push_back(json::object{{"status", to_string(h.status)},
                                   {"at", format_rfc3339_ms(h.at_ms)}});
  return json::object{{"id", o.id},
                      {"user_id", o.user_id},
                      {"status", to_string(o.status)},
                      {"items", items_json(o.items)},
                      {"subtotal", o.subtotal},
                      {"shipping", o.shipping},
                      {"total", o.total},
                      {"currency", pr.currency},
                      {"shipping_method", to_json(o.method)},
                      {"shipping_address", to_json(o.shipping_address)},
                      {"billing_address", to_json(o.billing_address)},
                      {"payments", std::move(payments)},
                      {"tracking_number", str_or_null(o.tracking_number)},
                      {"expires_at", time_or_null(o.expires_at_ms)},
                      {"history", std::move(history)},
                      {"created_at", format_rfc3339_ms(o.created_at_ms)},
                      {"updated_at", format_rfc3339_ms(o.updated_at_ms)},
                      {"email", o.email.empty() ? json::value(nullptr) : json::value(o.email)}};
}

json::value to_json(const notification& n, const presentation& pr) {
  json::object o{{"id", n.id},
                 {"event", n.event},
                 {"order_id", n.order_id},
                 {"order", json::object{{"id", n.order_id},
                                        {"status", to_string(n.order_status_now)},
                                        {"items", items_json(n.items)},
                                        {"total", n.total},
                                        {"currency", pr.currency}}},
                 {"tracking_number", str_or_null(n.tracking_number)},
                 {"support_email", pr.support_email},
                 {"message", n.message},
                 {"created_at", format_rfc3339_ms(n.created_at_ms)}};
  // A drop's event names its drop or product and no order.
  if (n.order_id.empty()) {
    o["order_id"] = nullptr;
    o["order"] = nullptr;
  }
  if (!n.drop_id.empty()) o["drop_id"] = n.drop_id;
  if (!n.product_id.empty()) o["product_id"] = n.product_id;
  return o;
}

json::value to_json(const checkout_summary& s, const presentation& pr) {
  json::value cart = to_json(s.cart, pr);
  json::array problems;
  for (const auto& p : s.problems)
    problems.push_back(json::object{{"product_id", p.product_id},
                                    {"code", to_string(p.code)},
                                    {"available", p.available}});
  return json::object{
      {"items", cart.as_object()["items"]},
      {"subtotal", s.cart.subtotal},
      {"shipping", s.shipping},
      {"total", s.total},
      {"currency", pr.currency},
      {"shipping_address", s.shipping_address ? to_json(*s.shipping_address) : json::value()},
      {"billing_address", s.billing_address ? to_json(*s.billing_address) : json::value()},
      {"shipping_method", s.method ? to_json(*s.method) : json::value()},
      {"shipping_methods", to_json(s.methods)},
      {"payment_methods", json::array{"card", "paypal"}},
      {"problems", std::move(problems)},
      {"ready", s.ready}};
}

// ---- Drops ----

namespace {
template <class T>
json::value value_or_null(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
}  // namespace


json::value to_json(const drop_view& v, bool admin) {
  const drop_definition& d = v.definition;
  json::array products;
  for (const auto& p : d.product_ids) products.emplace_back(p);
  json::object o{{"id", d.id},
                 {"mode", to_string(d.mode)},
                 {"state", to_string(v.state)},
                 {"opens_at", format_rfc3339_ms(d.opens_at_ms)},
                 {"draw_closes_at", time_or_null(d.draw_closes_at_ms)},
                 {"product_ids", std::move(products)},
                 {"seed_sha256", v.seed_sha256},
                 {"seed", value_or_null(v.seed)},
                 {"order", "hmac-sha256(seed, user_id)"}};
  if (!admin) return o;
  o["paused"] = v.paused;
  o["admit_per_s"] = d.admit_per_s;
  o["admission_ttl"] = d.admission_ttl_s;
  o["overbook"] = static_cast<double>(d.overbook_permille) / 1000.0;
  o["created_at"] = format_rfc3339_ms(v.created_at_ms);
  o["waiting"] = v.waiting;
  o["admitted"] = v.admitted;
  o["converted"] = v.converted;
  o["expired"] = v.expired;
  o["entries"] = v.entries;
  o["winners"] = v.winners;
  return o;
}

json::value to_json(const ticket_view& t) {
  return json::object{{"drop_id", t.drop_id},
                      {"state", to_string(t.state)},
                      {"position", value_or_null(t.position)},
                      {"ahead", value_or_null(t.ahead)},
                      {"eta_s", value_or_null(t.eta_s)},
                      {"admission_token", value_or_null(t.admission_token)},
                      {"admitted_until", time_or_null(t.admitted_until_ms)}};
}

std::string ticket_text(const ticket_view& t) {
  std::string out;
  out.reserve(192);
  json_writer w(out);
  auto number_or_null = [&w](std::optional<int64_t> n) { n ? w.value(*n) : w.null(); };
  w.begin_object().key("drop_id").value(t.drop_id).key("state").value(to_string(t.state));
  w.key("position");
  number_or_null(t.position);
  w.key("ahead");
  number_or_null(t.ahead);
  w.key("eta_s");
  number_or_null(t.eta_s);
  w.key("admission_token");
  t.admission_token ? w.value(*t.admission_token) : w.null();
  w.key("admitted_until");
  t.admitted_until_ms ? w.value(format_rfc3339_ms(*t.admitted_until_ms)) : w.null();
  w.end_object();
  return out;
}

json::value to_json(const entry_view& e) {
  return json::object{{"drop_id", e.drop_id}, {"state", public_name(e.stage)}, {"rank", value_or_null(e.rank)}};
}

json::value to_json(const waitlist_place& w) {
  return json::object{{"product_id", w.product_id}, {"position", w.position}, {"quantity", w.quantity}};
}


json::value error_json(const error& e) {
  json::object details;
  const error_details& d = e.details;
  if (d.product_id) details["product_id"] = *d.product_id;
  if (d.available) details["available"] = *d.available;
  if (d.max_per_user) details["max_per_user"] = *d.max_per_user;
  if (d.already) details["already"] = *d.already;
  if (d.sale_starts_at_ms) details["sale_starts_at"] = format_rfc3339_ms(*d.sale_starts_at_ms);
  if (d.sale_ends_at_ms) details["sale_ends_at"] = format_rfc3339_ms(*d.sale_ends_at_ms);
  if (d.field) details["field"] = *d.field;
  if (d.scope) details["scope"] = *d.scope;
  if (d.limit) details["limit"] = *d.limit;
  if (!d.items.empty()) {
    json::array items;
    for (const auto& s : d.items)
      items.push_back(json::object{{"product_id", s.product_id}, {"available", s.available}});
    details["items"] = std::move(items);
  }
  return json::object{
      {"error", json::object{{"code", to_string(e.code)},
                             {"message", e.message},
                             {"details", std::move(details)}}}};
}

void reader::refuse(std::string_view key, std::string what) {
  if (!bad.empty()) return;
  bad = std::string(key);
  why = bad + " must be " + std::move(what);
}

std::optional<std::string> reader::str(std::string_view key, size_t max_len) {
  auto v = obj.if_contains(key);
  if (!v) return std::nullopt;
  if (!v->is_string() || v->as_string().size() > max_len) {
    refuse(key, "a string of at most " + std::to_string(max_len) + " bytes");
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<int64_t> reader::integer(std::string_view key, int64_t min, int64_t max) {
  auto v = obj.if_contains(key);
  if (!v) return std::nullopt;
  int64_t n;
  if (v->is_int64()) {
    n = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(v->as_uint64());
  } else {
    refuse(key, "an integer " + std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  if (n < min || n > max) {
    refuse(key, "an integer " + std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> reader::boolean(std::string_view key) {
  auto v = obj.if_contains(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    refuse(key, "true or false");
    return std::nullopt;
  }
  return v->as_bool();
}

std::optional<std::vector<std::string>> reader::str_list(std::string_view key, size_t max_items,
                                                         size_t max_len) {
  auto v = obj.if_contains(key);
  if (!v) return std::nullopt;
  bool ok = v->is_array() && v->as_array().size() <= max_items;
  std::vector<std::string> out;
  if (ok) {
    for (const auto& e : v->as_array()) {
      if (!e.is_string() || e.as_string().size() > max_len) {
        ok = false;
        break;
      }
      out.emplace_back(e.as_string());
    }
  }
  if (!ok) {
    refuse(key, "a list of at most " + std::to_string(max_items) + " strings of at most " +
                    std::to_string(max_len) + " bytes each");
    return std::nullopt;
  }
  return out;
}

std::optional<std::optional<int64_t>> reader::time_or_null(std::string_view key) {
  auto v = obj.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<int64_t>();
  if (v->is_string()) {
    if (auto t = parse_rfc3339_ms(std::string_view(v->as_string()))) return std::optional<int64_t>(*t);
  }
  refuse(key, "an RFC 3339 time (\"2026-11-22T10:00:00.000Z\") or null");
  return std::nullopt;
}

}  // namespace stampede::http
