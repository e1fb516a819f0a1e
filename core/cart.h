// One user's cart: lines with the product's name and price as granted, which lines hold
// stock, and the one deadline every held line shares (each change renews it).
// Shard-local: only the user's shard thread touches a cart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stampede {

struct cart_line {
  std::string product_id;
  std::string name;
  int64_t unit_price = 0;
  int64_t quantity = 0;
  bool held = false;
  bool operator==(const cart_line&) const = default;
};

struct cart {
  std::vector<cart_line> lines;
  int64_t held_until_ms = 0;  // 0 when no line is held

  cart_line* find(std::string_view product_id) {
    for (auto& l : lines)
      if (l.product_id == product_id) return &l;
    return nullptr;
  }
  const cart_line* find(std::string_view product_id) const {
    return const_cast<cart*>(this)->find(product_id);
  }
  int64_t units_of(std::string_view product_id) const {
    const cart_line* l = find(product_id);
    return l ? l->quantity : 0;
  }
  bool any_held() const {
    for (const auto& l : lines)
      if (l.held) return true;
    return false;
  }
  bool operator==(const cart&) const = default;
};

// A cart as a reply shows it.
struct cart_view_line {
  std::string product_id;
  std::string name;
  int64_t unit_price = 0;
  int64_t quantity = 0;
  int64_t line_total = 0;
  bool held = false;
  std::optional<int64_t> held_until_ms;
  bool operator==(const cart_view_line&) const = default;
};

struct cart_view {
  std::vector<cart_view_line> items;
  int64_t subtotal = 0;
  int64_t item_count = 0;
  bool operator==(const cart_view&) const = default;
};

inline cart_view view_of(const cart& c) {
  cart_view v;
  for (const auto& l : c.lines) {
    cart_view_line vl{l.product_id, l.name, l.unit_price, l.quantity, l.unit_price * l.quantity,
                      l.held, std::nullopt};
    if (l.held) vl.held_until_ms = c.held_until_ms;
    v.subtotal += vl.line_total;
    v.item_count += l.quantity;
    v.items.push_back(std::move(vl));
  }
  return v;
}

}  // namespace stampede
