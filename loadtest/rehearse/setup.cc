#include "loadtest/rehearse/setup.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "loadtest/sync_client.h"
#include "server/auth.h"
#include "server/rfc3339.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

// The price of a product made here, in minor units.
constexpr int64_t made_product_price = 12'999;

std::optional<json::object> parse_object(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

int64_t integer_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : 0;
}

// Why a setup request has no answer, naming the target (and the flag when it timed out).
std::string unanswered(const rehearse_options& o, const sync_client::answer& a) {
  if (a.timed_out) return o.target_url + " does not answer: " + a.error + " (--timeout-ms)";
  return "cannot reach " + o.target_url + ": " + a.error;
}

// The product as it is, or made here; fills units, limits and the opening instant.
std::optional<std::string> find_or_make_product(const rehearse_options& o, sync_client& c,
                                                sale_setup& s) {
  auto got = c.request("GET", "/v1/admin/products/" + o.product, s.admin_token);
  if (got.status == 0) return unanswered(o, got);
  if (got.status == 401 || got.status == 403)
    return "the server refused the admin token (" + std::to_string(got.status) +
           "): is --jwt-secret the server's secret?";
  if (got.status == 404) {
    json::object body{
        {"id", o.product},
        {"name", "Rehearsal item"},
        {"description", "Made by stampede rehearse."},
        {"price", made_product_price},
        {"on_hand", o.units},
        {"max_per_user", o.max_per_user},
        {"sale_starts_at",
         http::format_rfc3339_ms(unix_now_ms() + static_cast<int64_t>(o.opens_in_s * 1000))}};
    got = c.request("POST", "/v1/admin/products", s.admin_token, json::serialize(body));
    if (got.status == 0) return unanswered(o, got);
    if (got.status != 201)
      return "cannot create " + o.product + ": " + std::to_string(got.status) + " " + got.body;
    s.created = true;
  } else if (got.status != 200) {
    return "cannot read " + o.product + ": " + std::to_string(got.status) + " " + got.body;
  }
  auto p = parse_object(got.body);
  if (!p) return "the product's answer is not JSON: " + got.body;
  s.units = integer_field(*p, "on_hand");
  s.max_per_user = integer_field(*p, "max_per_user");
  s.opening_unix_ms = unix_now_ms();
  if (auto* at = p->if_contains("sale_starts_at"); at && at->is_string())
    if (auto ms = http::parse_rfc3339_ms(at->get_string()))
      s.opening_unix_ms = std::max(*ms, s.opening_unix_ms);
  return std::nullopt;
}

// The drop named by --drop must exist and hold the product; it opens the sale.
std::optional<std::string> check_drop(const rehearse_options& o, sync_client& c, sale_setup& s) {
  auto got = c.request("GET", "/v1/drops/" + s.drop);
  if (got.status == 0) return unanswered(o, got);
  if (got.status != 200)
    return "no drop " + s.drop + " (" + std::to_string(got.status) + "): " + got.body;
  auto d = parse_object(got.body);
  if (!d) return "the drop's answer is not JSON";
  bool holds = false;
  if (auto* ids = d->if_contains("product_ids"); ids && ids->is_array())
    for (const auto& id : ids->get_array())
      holds = holds || (id.is_string() && id.get_string() == s.product);
  if (!holds) return "drop " + s.drop + " does not hold " + s.product;
  // Nobody is let in before the drop opens: that is the sale's opening instant.
  if (auto* at = d->if_contains("opens_at"); at && at->is_string())
    if (auto ms = http::parse_rfc3339_ms(at->get_string()))
      s.opening_unix_ms = std::max(*ms, s.opening_unix_ms);
  return std::nullopt;
}

}  // namespace

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::string> prepare_sale(const rehearse_options& o, sale_setup& out) {
  std::string error;
  auto t = parse_target(o.target_url, error);
  if (!t) return "--target: " + error;
  out.t = *t;
  out.product = o.product;
  boost::system::error_code ec;
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  for (const auto& e : resolver.resolve(t->host, std::to_string(t->port), ec))
    out.endpoints.push_back(e.endpoint());
  if (ec || out.endpoints.empty()) return "cannot resolve " + t->host;
  out.timeout = std::chrono::milliseconds(o.timeout_ms);
  std::random_device rd;
  out.run_id = std::to_string(rd() % 1'000'000'000);
  sync_client c(*t, out.timeout);
  auto ready = c.request("GET", "/readyz");
  if (ready.status == 0) return unanswered(o, ready);
  if (ready.status != 200)
    return o.target_url + " is not ready (/readyz answered " + std::to_string(ready.status) + ")";
  out.admin_token = http::sign_token(o.jwt_secret, "rehearse-admin", "admin",
                                     unix_now_ms() / 1000 + rehearsal_token_ttl_s);
  if (auto err = find_or_make_product(o, c, out)) return err;
  out.drop = o.drop;
  if (!out.drop.empty())
    if (auto err = check_drop(o, c, out)) return err;
  return std::nullopt;
}

}  // namespace stampede::load
