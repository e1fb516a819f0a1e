// Products and their stock, as one product shard holds them: create, patch, deactivate,
// look up, list by id, and the stock decisions (sale window, per-user limit, available)
// that grant or refuse a hold. Shard-local: only the owning shard's thread calls a catalog.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "core/drop_types.h"
#include "core/errors.h"
#include "core/stock.h"

namespace stampede {

// Everything API.md shows of a product, plus its stock.
struct product {
  std::string id;
  std::string name;
  std::string description;
  int64_t price = 0;
  std::vector<std::string> images;
  int64_t max_per_user = 0;  // 0: no limit
  std::optional<int64_t> sale_starts_at_ms;
  std::optional<int64_t> sale_ends_at_ms;
  bool active = true;
  uint64_t version = 0;  // bumped on every change, stock included: the ETag
  stock units;
  // Limits across accounts (API.md), over orders that are not canceled; 0: none.
  int64_t max_per_address = 0;
  int64_t max_per_card = 0;
};

// A copy of a product for a reply, taken on its shard.
struct product_view {
  std::string id;
  std::string name;
  std::string description;
  int64_t price = 0;
  std::vector<std::string> images;
  int64_t max_per_user = 0;
  std::optional<int64_t> sale_starts_at_ms;
  std::optional<int64_t> sale_ends_at_ms;
  bool active = true;
  uint64_t version = 0;
  int64_t available = 0;
  int64_t on_hand = 0;  // the admin view's three counts
  int64_t reserved = 0;
  int64_t committed = 0;
  int64_t max_per_address = 0;
  int64_t max_per_card = 0;
};
product_view view_of(const product& p);

// The body of POST /v1/admin/products.
struct product_create {
  std::string id;
  std::string name;
  std::string description;
  int64_t price = 0;
  std::vector<std::string> images;
  int64_t on_hand = 0;
  int64_t max_per_user = 0;
  std::optional<int64_t> sale_starts_at_ms;
  std::optional<int64_t> sale_ends_at_ms;
  int64_t max_per_address = 0;
  int64_t max_per_card = 0;
  bool operator==(const product_create&) const = default;
};

// The body of PATCH /v1/admin/products/{id}: only the fields present change.
// `clear_sale_*` sets a window end to null.
struct product_patch {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<int64_t> price;
  std::optional<std::vector<std::string>> images;
  std::optional<int64_t> on_hand;
  std::optional<int64_t> max_per_user;
  std::optional<std::optional<int64_t>> sale_starts_at_ms;
  std::optional<std::optional<int64_t>> sale_ends_at_ms;
  std::optional<bool> active;
  std::optional<int64_t> max_per_address;
  std::optional<int64_t> max_per_card;
  bool operator==(const product_patch&) const = default;
};

// Field checks shared by create and patch; the first bad field answers invalid_request.
std::optional<error> validate(const product_create& c);
std::optional<error> validate(const product_patch& p);

// What a drop or a limit across accounts adds to an ask (drop_gate.h): what lets a take
// through the product's drop, if it is in one; and a limit across accounts to count
// `adding` units against, under `limit_key` (a normalized address at checkout, a card
// fingerprint at payment). `limit_only`: decide nothing else (a payment's card: the order
// holds its units already).
struct ask_terms {
  take_pass pass;
  limit_scope limit = limit_scope::user;
  std::string limit_key;
  bool limit_only = false;
};

// What a user shard asks of one line: `units` to take now (take) or merely to find
// available (check), for a user who has `already` units of the product in the cart and in
// orders that are not canceled and is `adding` more (the per-user limit counts both).
// The drops' terms travel boxed, null for an ordinary ask: messages stay small on the hot
// path (issue 13: every move of a message moves every field).
struct stock_ask {
  std::string product_id;
  int64_t units = 0;
  bool take = true;
  int64_t adding = 0;
  int64_t already = 0;
  std::unique_ptr<ask_terms> terms;  // null: no pass, no limit across accounts

  ask_terms& set_terms() {
    if (!terms) terms = std::make_unique<ask_terms>();
    return *terms;
  }
  // Boxes `p` only when it is a pass at all: an ordinary take stays without terms.
  void set_pass(const take_pass& p) {
    if (p.what != take_pass::kind::none) set_terms().pass = p;
  }
  const take_pass& pass() const;
  limit_scope limit() const { return terms ? terms->limit : limit_scope::user; }
  // A limit across accounts to count against: a scope besides the user's, and its key.
  bool counts_limit() const {
    return terms && terms->limit != limit_scope::user && !terms->limit_key.empty();
  }
  bool limit_only() const { return terms && terms->limit_only; }
};

// What the drops add to an answer (drop_gate.h): the product's open drop; whether the
// units were counted under the ask's limit key; a refused limit across accounts and its
// counts.
struct answer_terms {
  std::string drop_id;
  bool limit_counted = false;
  limit_scope refused_limit = limit_scope::user;
  int64_t limit = 0;
  int64_t limit_already = 0;
};

// The product shard's answer to one stock_ask.
struct stock_answer {
  std::optional<error_code> refused;  // nullopt: granted
  bool reserved = false;              // `units` were taken
  int64_t available = 0;
  int64_t max_per_user = 0;
  std::optional<int64_t> sale_starts_at_ms;
  std::optional<int64_t> sale_ends_at_ms;
  std::string name;
  int64_t unit_price = 0;
  std::unique_ptr<answer_terms> terms;  // null: in no drop, no limit across accounts met

  answer_terms& set_terms() {
    if (!terms) terms = std::make_unique<answer_terms>();
    return *terms;
  }
  std::string_view drop_id() const { return terms ? std::string_view(terms->drop_id) : ""; }
  bool limit_counted() const { return terms && terms->limit_counted; }
};

class catalog {
 public:
  result<product_view> create(const product_create& c);
  // create() without the view: what replay uses. Takes the fields to move from.
  result<const product*> insert(product_create c);
  // A product as a snapshot holds it (recovery only).
  result<const product*> restore(product_create c, bool active, uint64_t version);
  // Every check patch() makes, without changing anything.
  std::optional<error> check_patch(std::string_view id, const product_patch& p) const;
  result<product_view> patch(std::string_view id, const product_patch& p);
  // Adds (or with a negative delta removes) units, refusing to fall below reserved+committed.
  result<product_view> adjust(std::string_view id, int64_t delta);
  // Every check adjust() makes, without changing anything: the on_hand it would set.
  result<int64_t> check_adjust(std::string_view id, int64_t delta) const;
  result<product_view> deactivate(std::string_view id);
  // Public lookups hide inactive products; admin lookups see every product.
  result<product_view> get(std::string_view id, bool include_inactive) const;
  // Up to `limit` products with id > after, ordered by id, whose name contains `query`
  // (case-insensitive: each code point lower-cased, ASCII or not).
  std::vector<product_view> list(std::string_view after, size_t limit, std::string_view query,
                                 bool include_inactive) const;

  // Decides one line of a cart change or a checkout, at time now_ms, leaving `held_back`
  // units (spoken for by waitlist offers in flight) to nobody else.
  stock_answer decide(const stock_ask& ask, int64_t now_ms, int64_t held_back = 0);
  // Returns held units (line removed, hold lapsed, checkout rolled back).
  void release(std::string_view id, int64_t quantity);
  void commit(std::string_view id, int64_t quantity);
  void uncommit(std::string_view id, int64_t quantity);
  // Recovery, in three steps: zero every count, add what carts and orders hold (false for
  // a product not in this catalog), then check every product's invariant.
  void clear_counts();
  void reserve(size_t products) { products_.reserve(products); }
  bool add_counts(std::string_view id, int64_t reserved, int64_t committed);
  // "" or the first product whose counts exceed its on_hand.
  std::string check_counts() const;

  const product* find(std::string_view id) const;
  // Sets a product's limits across accounts (product_limits_set); false: no such product.
  bool set_account_limits(std::string_view id, int64_t max_per_address, int64_t max_per_card);
  size_t size() const { return products_.size(); }
  // Units held by carts and in live orders, over this catalog's products.
  int64_t reserved_total() const { return reserved_total_; }
  int64_t committed_total() const { return committed_total_; }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [id, p] : products_) f(p);
  }

 private:
  product* find_mutable(std::string_view id);

  // Node-based: a product is large, and growing a flat map moved every one of them
  // (replay of 1M products ran at half the speed of 200k).
  absl::node_hash_map<std::string, product> products_;
  absl::btree_set<std::string> ids_;  // the listing order
  int64_t reserved_total_ = 0;
  int64_t committed_total_ = 0;
};

}  // namespace stampede
