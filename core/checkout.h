// Checkout's values (POST /v1/checkout/preview and POST /v1/orders): what the shopper asks
// for, and the summary a preview answers with. The operations are checkout_ops.h.
// Plain values: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/cart.h"
#include "core/errors.h"

namespace stampede {

struct checkout_request {
  std::string shipping_address_id;
  std::string billing_address_id;  // empty: same as shipping
  std::string shipping_method;
  std::string email;  // the order's email address, valid or "" (server/ checks it)
};

// One line a preview finds wrong (out_of_stock with what is left, sale_*, limit_exceeded).
struct checkout_problem {
  std::string product_id;
  error_code code;
  int64_t available = 0;
};

struct checkout_summary {
  cart_view cart;
  int64_t shipping = 0;
  int64_t total = 0;
  std::optional<address> shipping_address;
  std::optional<address> billing_address;
  std::optional<shipping_method> method;
  std::vector<shipping_method> methods;
  std::vector<checkout_problem> problems;
  bool ready = false;
};

}  // namespace stampede
