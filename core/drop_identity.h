// The identities limits across accounts count by: a shipping address normalized (line1 and
// line2, city, region, postal code, country; ASCII case-folded, spacing and punctuation
// collapsed; name and phone ignored) and a card's fingerprint (a keyed HMAC of its number
// only: not the expiry, not the CVC; the number itself is never kept). And the counts:
// per product, the units in orders that are not canceled by each address or card.
// Functions: any thread. account_counts: shard-local (the product's shard).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/address.h"
#include "core/order.h"
#include "core/crypto.h"
#include "core/drop_types.h"

namespace stampede {

// The address as the limit compares it: "1 main st apt 2|springfield|il|62701|us".
std::string normalized_address(const address& a);
// What is counted: 32 hex digits of SHA-256 over the normalized address.
std::string address_key(const address& a);

class card_fingerprinter {
 public:
  // `secret`: the server's secret; the key is derived from it for this one use.
  explicit card_fingerprinter(std::string_view secret);
  // 32 hex digits; the same for "4242 4242 4242 4242" and "4242-4242-4242-4242".
  std::string fingerprint(std::string_view card_number) const;

 private:
  hmac_key key_;
};

// A limit that would be passed: the scope, the limit, and the units already counted.
struct limit_breach {
  limit_scope scope = limit_scope::address;
  int64_t limit = 0;
  int64_t already = 0;
};

// The card fingerprints an order counts under: those of its succeeded or requires_action
// payments, while the order is not canceled.
std::vector<std::string> counted_cards(const order& o);

// A payment's fingerprint is logged beside the order (card_fingerprint_set, drop_effects.h),
// since the order's encoding predates it: set it on the payment named, and carry the
// fingerprints of `before`'s payments over to `after` where it lacks them (a replayed update).
void set_card_fingerprint(order& o, std::string_view payment_id, const std::string& fingerprint);
void keep_card_fingerprints(const order& before, order& after);

// Units of a product in orders that are not canceled, per address or card key.
class account_counts {
 public:
  int64_t units(std::string_view product_id, std::string_view key) const;
  // Would `adding` more units by `key` pass `limit` (0: none)?
  std::optional<limit_breach> check(std::string_view product_id, std::string_view key,
                                    int64_t adding, int64_t limit, limit_scope scope) const;
  void add(std::string_view product_id, std::string_view key, int64_t units);
  void remove(std::string_view product_id, std::string_view key, int64_t units);
  void clear() { units_.clear(); }

 private:
  // product id + '\n' + key -> units
  absl::flat_hash_map<std::string, int64_t> units_;
};

}  // namespace stampede
