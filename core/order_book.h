// The orders a shard owns (those of its users), indexed as the API reads them: by id, by
// payment id (the gateway's webhook names a payment), by creation time (the admin listing,
// newest first), by status (the /metrics gauges), and by payment deadline (pending orders
// the timer cancels). Changes only by the effects order_placed and order_updated.
// Shard-local: only the owning shard's thread touches an order_book.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "core/order.h"
#include "core/stats.h"

namespace stampede {

static_assert(static_cast<size_t>(order_status::canceled) + 1 == order_status_count,
              "store_stats counts one slot per order_status");

class order_book {
 public:
  // Node-based: an order& stays valid until the order is replaced by an update.
  order* find(std::string_view order_id);
  const order* find(std::string_view order_id) const;
  // The order a payment belongs to, if that payment was made here.
  const std::string* order_of_payment(std::string_view payment_id) const;

  // Effects (applied by the shard). `place` keeps the order as it is (a snapshot may load
  // one in any status); `update` replaces it whole and returns the order as it was.
  const order& place(order&& o);
  order update(order&& now);

  // Orders strictly older than `cursor` (created_at_ms, id), newest first, of one status
  // or any.
  std::vector<order> before(std::optional<order_status> status,
                            std::optional<std::pair<int64_t, std::string>> cursor,
                            size_t limit) const;
  // Pending orders whose payment deadline is at or before now, each once.
  std::vector<std::string> take_due(int64_t now_ms);

  const std::array<int64_t, order_status_count>& by_status() const { return by_status_; }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [id, o] : orders_) f(o);
  }
  void reserve(size_t orders) { orders_.reserve(orders); }

 private:
  void count(order_status s, int64_t n) { by_status_[static_cast<size_t>(s)] += n; }
  void index_payments(const order& o);

  absl::node_hash_map<std::string, order> orders_;
  absl::flat_hash_map<std::string, std::string> payment_orders_;  // payment id -> order id
  absl::btree_set<std::pair<int64_t, std::string>> by_time_;       // (created ms, order)
  absl::btree_set<std::pair<int64_t, std::string>> deadlines_;     // (expires ms, order)
  std::array<int64_t, order_status_count> by_status_{};
};

}  // namespace stampede
