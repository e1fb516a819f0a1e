#include "core/idempotency.h"

#include <algorithm>

#include "core/check.h"
#include "core/ids.h"
#include "core/limits.h"

namespace stampede {

namespace {

constexpr std::string_view add_item_route = "POST /v1/cart/items\n";
constexpr std::string_view place_order_route = "POST /v1/orders\n";
// A key's bookkeeping beside its answer and scope: its slot in the user's map, its entry in
// the expiry index (which repeats the user id and the scope), string headers.
constexpr size_t key_overhead_bytes = 160;

template <class T>
std::string encoded(const T& value) {
  std::string out;
  codec::encode(out, value);
  return out;
}

// The cart a view was made from (view_of is its exact inverse: totals and the per-line
// deadline are derived).
cart cart_of(const cart_view& v) {
  cart c;
  c.lines.reserve(v.items.size());
  for (const auto& l : v.items) {
    c.lines.push_back(cart_line{l.product_id, l.name, l.unit_price, l.quantity, l.held});
    if (l.held && l.held_until_ms) c.held_until_ms = *l.held_until_ms;
  }
  return c;
}

}  // namespace

idempotency_scope add_item_scope(std::string_view key, std::string_view product_id,
                                 int64_t quantity) {
  return {std::string(add_item_route) + std::string(key),
          stable_hash(std::string(product_id) + "\n" + std::to_string(quantity))};
}

idempotency_scope place_order_scope(std::string_view key, std::string_view shipping_address_id,
                                    std::string_view billing_address_id,
                                    std::string_view shipping_method) {
  return {std::string(place_order_route) + std::string(key),
          stable_hash(std::string(shipping_address_id) + "\n" + std::string(billing_address_id) +
                      "\n" + std::string(shipping_method))};
}

idempotency_scope payment_scope(std::string_view key, std::string_view order_id,
                                std::string_view method, int64_t amount,
                                std::string_view card_last4, int64_t exp_month,
                                int64_t exp_year) {
  // Never the full card number: a hash of 16 digits with known last four is reversible.
  return {"POST /v1/orders/" + std::string(order_id) + "/payments\n" + std::string(key),
          stable_hash(std::string(method) + "\n" + std::to_string(amount) + "\n" +
                      std::string(card_last4) + "\n" + std::to_string(exp_month) + "/" +
                      std::to_string(exp_year))};
}

idempotency_kept kept_cart_now(std::string_view user_id, const idempotency_scope& s,
                               int64_t now_ms) {
  return {std::string(user_id), s.scope_key, s.fingerprint, now_ms, answer_kind::cart_now, {}};
}

idempotency_kept kept_answer(std::string_view user_id, const idempotency_scope& s,
                             int64_t now_ms, const order& answer) {
  return {std::string(user_id), s.scope_key, s.fingerprint, now_ms, answer_kind::order,
          encoded(answer)};
}

idempotency_kept kept_answer(std::string_view user_id, const idempotency_scope& s,
                             int64_t now_ms, const payment_result& answer) {
  return {std::string(user_id), s.scope_key, s.fingerprint, now_ms, answer_kind::payment,
          encoded(answer)};
}

idempotency_kept compact(idempotency_stored&& old) {
  idempotency_kept e{std::move(old.user_id), std::move(old.scope_key), old.fingerprint,
                     old.stored_at_ms, answer_kind::cart, {}};
  std::visit(
      [&e](const auto& answer) {
        using T = std::decay_t<decltype(answer)>;
        if constexpr (std::is_same_v<T, cart_view>) {
          e.kind = answer_kind::cart;
          e.answer = encoded(cart_of(answer));
        } else if constexpr (std::is_same_v<T, order>) {
          e.kind = answer_kind::order;
          e.answer = encoded(answer);
        } else {
          e.kind = answer_kind::payment;
          e.answer = encoded(answer);
        }
      },
      old.answer);
  return e;
}

template <>
cart_view stored_value<cart_view>(const idempotency_store::entry& e) {
  cart c;
  STAMPEDE_CHECK(e.kind == answer_kind::cart && codec::decode(e.answer, c));
  return view_of(c);
}

template <>
order stored_value<order>(const idempotency_store::entry& e) {
  order o;
  STAMPEDE_CHECK(e.kind == answer_kind::order && codec::decode(e.answer, o));
  return o;
}

template <>
payment_result stored_value<payment_result>(const idempotency_store::entry& e) {
  payment_result p;
  STAMPEDE_CHECK(e.kind == answer_kind::payment && codec::decode(e.answer, p));
  return p;
}

size_t idempotency_store::cost(const std::string& scope_key, const entry& e) {
  return key_overhead_bytes + scope_key.size() + e.answer.size();
}

error idempotency_store::full(const user_keys& u, int64_t now_ms) const {
  int64_t oldest = now_ms;
  for (const auto& [scope, e] : u.keys) oldest = std::min(oldest, e.stored_at_ms);
  int64_t frees_in_ms = std::max<int64_t>(0, oldest + limits::idempotency_retention_ms - now_ms);
  int64_t retry_after_s = (frees_in_ms + 999) / 1000;
  error_details d;
  d.retry_after_s = retry_after_s;
  return make_error(
      error_code::rate_limited,
      "this customer's Idempotency-Keys hold " + std::to_string(u.keys.size()) + " answers (" +
          std::to_string(u.bytes / 1024) + " KiB), the most one customer may: " +
          std::to_string(limits::idempotency_keys_per_user_max) + " keys or " +
          std::to_string(limits::idempotency_bytes_per_user_max >> 20) +
          " MiB, each kept 24 hours; the oldest is forgotten in " + std::to_string(retry_after_s) +
          " s (requests without a key are not limited by this)",
      std::move(d));
}

idempotency_store::lookup idempotency_store::check(std::string_view user_id,
                                                   const idempotency_scope& s,
                                                   int64_t now_ms) const {
  auto user = users_.find(as_key(user_id));
  if (user == users_.end()) return {};
  const user_keys& u = user->second;
  auto it = u.keys.find(s.scope_key);
  if (it != u.keys.end() && now_ms - it->second.stored_at_ms <= limits::idempotency_retention_ms) {
    return {it->second.fingerprint == s.fingerprint ? verdict::replay : verdict::mismatch,
            &it->second, std::nullopt};
  }
  if (u.keys.size() >= limits::idempotency_keys_per_user_max ||
      u.bytes >= limits::idempotency_bytes_per_user_max)
    return {verdict::full, nullptr, full(u, now_ms)};
  return {};
}

void idempotency_store::keep(idempotency_kept&& x) {
  STAMPEDE_CHECK(x.kind != answer_kind::cart_now);
  by_time_.emplace(x.stored_at_ms, x.user_id, x.scope_key);
  user_keys& u = users_[x.user_id];
  entry e{x.fingerprint, x.stored_at_ms, x.kind, std::move(x.answer)};
  auto [it, added] = u.keys.try_emplace(std::move(x.scope_key));
  if (!added) u.bytes -= cost(it->first, it->second);
  it->second = std::move(e);
  u.bytes += cost(it->first, it->second);
}

void idempotency_store::forget(user_keys& u, absl::flat_hash_map<std::string, entry>::iterator it) {
  u.bytes -= cost(it->first, it->second);
  u.keys.erase(it);
}

void idempotency_store::expire(int64_t now_ms) {
  while (!by_time_.empty() &&
         now_ms - std::get<0>(*by_time_.begin()) > limits::idempotency_retention_ms) {
    auto [at, user_id, scope] = *by_time_.begin();
    by_time_.erase(by_time_.begin());
    auto user = users_.find(user_id);
    if (user == users_.end()) continue;
    auto it = user->second.keys.find(scope);
    if (it != user->second.keys.end() && it->second.stored_at_ms == at) forget(user->second, it);
    if (user->second.keys.empty()) users_.erase(user);
  }
}

std::pair<size_t, size_t> idempotency_store::pinned_by(std::string_view user_id) const {
  auto user = users_.find(as_key(user_id));
  if (user == users_.end()) return {0, 0};
  return {user->second.keys.size(), user->second.bytes};
}

}  // namespace stampede
