// The gate a product's units pass on the product's shard, around the catalog's own rules
// (catalog::decide): the product's drop (drop_claims: who may take its units), the units
// spoken for by its waitlist's offers in flight (waitlists), and the limits across accounts
// (max_per_address, max_per_card: units counted by normalized address and card
// fingerprint). Every stock decision goes through decide() here, so each rule holds in one
// place and two accounts racing for a limit are decided one after the other.
// Claims and counts are derived (set again at recovery from the drops and the orders);
// waitlists are logged. Shard-local: only the product's shard thread touches a drop_gate.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/catalog.h"
#include "core/drop_admission.h"
#include "core/drop_claims.h"
#include "core/drop_identity.h"
#include "core/drop_waitlist.h"

namespace stampede {

class drop_gate {
 public:
  drop_claims& claims() { return claims_; }
  const drop_claims& claims() const { return claims_; }
  waitlists& lists() { return lists_; }
  const waitlists& lists() const { return lists_; }

  // One stock ask, decided: the drop's gate, then the catalog (leaving units offered to the
  // waitlist to it alone), then the ask's limit across accounts, counted if it passes.
  stock_answer decide(catalog& products, const stock_ask& ask, int64_t now_ms);
  // Units of the product that a take with `pass` must leave: those offered to the waitlist,
  // and, while someone waits whom no offer reached yet, every unit (they are the waitlist's
  // first: nobody may take them in the moment before the next offer).
  int64_t held_back(const catalog& products, const std::string& product_id,
                    const take_pass& pass) const;
  // After a restart: offers in flight are made again (once).
  void resend_offers() { resend_offers_ = true; }
  bool take_resend_offers() { return std::exchange(resend_offers_, false); }

  // Units counted under a limit given back (an order canceled, a payment failed).
  void release_limit(const std::string& product_id, limit_scope scope, const std::string& key,
                     int64_t units);
  // Recovery: the counts again from the live orders.
  void clear_counts();
  void count(limit_scope scope, const std::string& product_id, const std::string& key,
             int64_t units);

  // What each claimed product's drop last heard of its stock; the products whose supply
  // changed since, with the new figures (at most once a tick, as availability goes out).
  std::vector<std::pair<std::string, product_supply>> supply_changes(const catalog& products);
  // After a restart or a new claim: the drop has heard nothing yet.
  void forget_supply(const std::string& product_id) { supply_sent_.erase(product_id); }

 private:
  stock_answer decide_limit(catalog& products, const stock_ask& ask, stock_answer a);
  account_counts& counts(limit_scope scope) { return scope == limit_scope::card ? cards_ : addresses_; }

  drop_claims claims_;
  waitlists lists_;
  account_counts addresses_;
  account_counts cards_;
  absl::flat_hash_map<std::string, product_supply> supply_sent_;
  bool resend_offers_ = false;
};

// A product's supply as a drop sees it.
product_supply supply_of(const product& p);

}  // namespace stampede
