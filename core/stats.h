// Whole-store figures, each shard's part added up by the engine: the gauges /metrics shows
// (kept up to date as state changes, so a scrape never scans the store), and the stock
// audit tests and recovery checks use (per product, the counts its shard holds and what
// the users' carts and orders say they should be). Plain values: any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/drop_types.h"

namespace stampede {

struct stock_audit_line {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t committed = 0;
  int64_t held_in_carts = 0;
  int64_t in_live_orders = 0;
  stock_audit_line& operator+=(const stock_audit_line& o) {
    on_hand += o.on_hand;
    reserved += o.reserved;
    committed += o.committed;
    held_in_carts += o.held_in_carts;
    in_live_orders += o.in_live_orders;
    return *this;
  }
};
using stock_audit = absl::flat_hash_map<std::string, stock_audit_line>;

// Orders counted per order_status (order.h), indexed by the status' value.
inline constexpr size_t order_status_count = 7;

// One drop's figures for /metrics and the dashboard.
struct drop_figures {
  std::string id;
  drop_state state = drop_state::scheduled;
  int64_t waiting = 0;
  int64_t admitted = 0;
  int64_t converted = 0;
  int64_t expired = 0;
};

struct store_stats {
  int64_t products = 0;
  int64_t reserved_units = 0;
  int64_t committed_units = 0;
  int64_t carts_holding = 0;
  std::array<int64_t, order_status_count> orders_by_status{};
  std::vector<drop_figures> drops;  // each drop once: on its own shard
  // Client writes refused by admission control (core/write_gate.h), since start: at the
  // gate, and by the write queue because they waited past their deadline, their client
  // left, or the queue was full.
  int64_t writes_shed = 0;
  int64_t writes_late = 0;
  int64_t writes_gone = 0;
  int64_t writes_full = 0;
  store_stats& operator+=(const store_stats& o) {
    drops.insert(drops.end(), o.drops.begin(), o.drops.end());
    products += o.products;
    writes_shed += o.writes_shed;
    writes_late += o.writes_late;
    writes_gone += o.writes_gone;
    writes_full += o.writes_full;
    reserved_units += o.reserved_units;
    committed_units += o.committed_units;
    carts_holding += o.carts_holding;
    for (size_t i = 0; i < orders_by_status.size(); ++i) orders_by_status[i] += o.orders_by_status[i];
    return *this;
  }
};

}  // namespace stampede
