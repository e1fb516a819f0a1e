// The stock of one product: on_hand, reserved (held by carts), committed (in orders that
// are not canceled), and the invariant 0 <= reserved + committed <= on_hand, asserted at
// every change. Shard-local: only the product's shard thread touches a stock.
#pragma once

#include <algorithm>
#include "core/check.h"
#include <cstdint>

namespace stampede {

class stock {
 public:
  int64_t on_hand() const { return on_hand_; }
  int64_t reserved() const { return reserved_; }
  int64_t committed() const { return committed_; }
  // Units that may still be granted; never below 0.
  int64_t available() const { return std::max<int64_t>(0, on_hand_ - reserved_ - committed_); }

  // Grants `quantity` units to a cart if they are available. REQUIRES: quantity > 0.
  bool try_reserve(int64_t quantity) {
    STAMPEDE_CHECK(quantity > 0);
    if (quantity > available()) return false;
    reserved_ += quantity;
    check();
    return true;
  }
  // Returns held units. REQUIRES: quantity <= reserved().
  void release(int64_t quantity) {
    STAMPEDE_CHECK(quantity >= 0 && quantity <= reserved_);
    reserved_ -= quantity;
    check();
  }
  // Moves held units into an order. REQUIRES: quantity <= reserved().
  void commit(int64_t quantity) {
    STAMPEDE_CHECK(quantity >= 0 && quantity <= reserved_);
    reserved_ -= quantity;
    committed_ += quantity;
    check();
  }
  // Returns the units of a canceled order. REQUIRES: quantity <= committed().
  void uncommit(int64_t quantity) {
    STAMPEDE_CHECK(quantity >= 0 && quantity <= committed_);
    committed_ -= quantity;
    check();
  }
  // Sets on_hand unless that would fall below reserved + committed.
  bool try_set_on_hand(int64_t on_hand) {
    if (on_hand < 0 || on_hand < reserved_ + committed_) return false;
    on_hand_ = on_hand;
    check();
    return true;
  }
  // Recovery only: counts rebuilt from the users' carts and orders.
  void restore(int64_t on_hand, int64_t reserved, int64_t committed) {
    on_hand_ = on_hand;
    reserved_ = reserved;
    committed_ = committed;
  }
  bool invariant_holds() const {
    return reserved_ >= 0 && committed_ >= 0 && reserved_ + committed_ <= on_hand_;
  }

 private:
  void check() const { STAMPEDE_CHECK(invariant_holds()); }

  int64_t on_hand_ = 0;
  int64_t reserved_ = 0;
  int64_t committed_ = 0;
};

}  // namespace stampede
