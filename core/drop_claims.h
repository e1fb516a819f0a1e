// Which of a shard's products belong to a drop that has not closed, and the rule that
// decides who may take their units: the holder of an admission to that drop (a queue, once
// it opened), the drop itself placing a winner's hold (a draw), or, once the drop sold
// out, the product's waitlist. Everyone else is refused not_admitted. The claim is made
// when the drop is created (refused while another open drop has the product) and dropped
// when it closes. Claims are not logged: they follow from the drops that are not closed,
// and are set again from them at recovery. Shard-local: the product's shard thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/drop_types.h"
#include "core/errors.h"

namespace stampede {

class drop_claims {
 public:
  const drop_claim* find(std::string_view product_id) const;
  // nullopt when `product_id` may join drop `drop_id`: no other open drop has it.
  std::optional<error> check_claim(std::string_view product_id, std::string_view drop_id) const;
  // The product's drop as it now is (nullopt: none, its units are sold freely).
  void set(const std::string& product_id, std::optional<drop_claim> claim);
  void clear() { claims_.clear(); }
  // No product of this shard is in an open drop.
  bool empty() const { return claims_.empty(); }

  // nullopt when units of the product may be taken at now_ms with `pass`.
  std::optional<error> check_take(std::string_view product_id, const take_pass& pass,
                                  int64_t now_ms) const;
  // Units that come back go to the product's waitlist: it is in no drop, or its drop sold out.
  bool offers_to_waitlist(std::string_view product_id) const;

  template <class F>
  void for_each(F&& f) const {
    for (const auto& [product_id, claim] : claims_) f(product_id, claim);
  }

 private:
  absl::flat_hash_map<std::string, drop_claim> claims_;
};

}  // namespace stampede
