// Product waitlists: the people who asked for units of a product while none was available,
// in arrival order. Units that come back (a lapsed hold, a canceled order, new stock) are
// offered first come, first served: the next person's units go into their cart through the
// ordinary add-to-cart path, and while that is in flight the units are spoken for (ordinary
// takes must leave them). Rules hand their effects to `emit`, which records and applies them
// (apply()) before it returns. Shard-local: the product's shard thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "core/drop_effects.h"
#include "core/drop_line.h"
#include "core/errors.h"

namespace stampede {

using waitlist_emit = absl::FunctionRef<void(waitlist_effect&&)>;

class waitlists {
 public:
  // A place, new (true) or the one the user holds (false). conflict while `available` > 0.
  result<bool> join(const std::string& product_id, const std::string& user_id, int64_t quantity,
                    int64_t available, int64_t now_ms, waitlist_emit emit);
  result<ok_t> leave(const std::string& product_id, const std::string& user_id, waitlist_emit emit);
  // 1-based: those ahead (offers in flight included) plus one.
  result<int64_t> position(std::string_view product_id, std::string_view user_id) const;
  const waitlist_entry* find(std::string_view product_id, std::string_view user_id) const;
  size_t size(std::string_view product_id) const;
  // Nobody waits for any product of this shard (a list leaves with its last entry).
  bool empty() const { return lists_.empty(); }

  // Units of the product being offered: not available to anyone else meanwhile.
  int64_t offered_units(std::string_view product_id) const;
  // Entries waiting that no offer reached yet.
  int64_t unoffered(std::string_view product_id) const;
  // Offers the product's `available` units (less those already offered) to the head of the
  // line, in order, stopping at the first who asked for more than is left.
  std::vector<waitlist_entry> offer(const std::string& product_id, int64_t available,
                                    waitlist_emit emit);
  // The user's shard answered an offer: the units are in the cart (the entry leaves the list),
  // out_of_stock or overloaded (it waits again at its place), or refused (it leaves).
  void offer_answered(const std::string& product_id, const std::string& user_id,
                      std::optional<error_code> refused, waitlist_emit emit);
  // Offers in flight (after a restart they are made again): (product, entry).
  std::vector<std::pair<std::string, waitlist_entry>> in_flight() const;

  void apply(const waitlist_effect& e);
  // Every entry of a product's list (a snapshot's product unit).
  template <class F>
  void for_each_of(std::string_view product_id, F&& f) const {
    if (const list* l = find_list(product_id))
      for (const auto& [user, e] : l->entries) f(e);
  }
  // Products with someone waiting.
  template <class F>
  void for_each_list(F&& f) const {
    for (const auto& [product_id, l] : lists_) f(product_id);
  }

 private:
  struct list {
    absl::flat_hash_map<std::string, waitlist_entry> entries;
    drop_line line;                        // every entry by place
    std::vector<std::string> place_users;  // place - 1 -> user
    int64_t offered_units = 0;
    int64_t offered_entries = 0;
  };
  const list* find_list(std::string_view product_id) const;
  void index(list& l, const waitlist_entry& e);
  void unindex(list& l, const waitlist_entry& e);

  absl::node_hash_map<std::string, list> lists_;
};

}  // namespace stampede
