#include "core/idempotency.h"

#include "core/ids.h"
#include "core/limits.h"

namespace stampede {

namespace {
constexpr std::string_view add_item_route = "POST /v1/cart/items\n";
constexpr std::string_view place_order_route = "POST /v1/orders\n";
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

idempotency_store::lookup idempotency_store::check(std::string_view user_id,
                                                   const idempotency_scope& s,
                                                   int64_t now_ms) const {
  auto user = users_.find(as_key(user_id));
  if (user == users_.end()) return {};
  auto it = user->second.find(s.scope_key);
  if (it != user->second.end() &&
      now_ms - it->second.stored_at_ms <= limits::idempotency_retention_ms) {
    return {it->second.fingerprint == s.fingerprint ? verdict::replay : verdict::mismatch,
            &it->second};
  }
  if (user->second.size() >= limits::idempotency_keys_per_user_max) return {verdict::full};
  return {};
}

void idempotency_store::store(std::string user_id, std::string scope_key, entry e) {
  by_time_.emplace(e.stored_at_ms, user_id, scope_key);
  users_[std::move(user_id)].insert_or_assign(std::move(scope_key), std::move(e));
}

void idempotency_store::expire(int64_t now_ms) {
  while (!by_time_.empty() &&
         now_ms - std::get<0>(*by_time_.begin()) > limits::idempotency_retention_ms) {
    auto [at, user_id, scope] = *by_time_.begin();
    by_time_.erase(by_time_.begin());
    auto user = users_.find(user_id);
    if (user == users_.end()) continue;
    auto it = user->second.find(scope);
    if (it != user->second.end() && it->second.stored_at_ms == at) user->second.erase(it);
    if (user->second.empty()) users_.erase(user);
  }
}

}  // namespace stampede
