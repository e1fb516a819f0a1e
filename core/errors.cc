#include "core/errors.h"

namespace stampede {

std::string_view to_string(error_code code) {
  switch (code) {
    case error_code::invalid_request: return "invalid_request";
    case error_code::unauthorized: return "unauthorized";
    case error_code::forbidden: return "forbidden";
    case error_code::sale_not_started: return "sale_not_started";
    case error_code::sale_ended: return "sale_ended";
    case error_code::not_found: return "not_found";
    case error_code::payment_failed: return "payment_failed";
    case error_code::out_of_stock: return "out_of_stock";
    case error_code::limit_exceeded: return "limit_exceeded";
    case error_code::invalid_transition: return "invalid_transition";
    case error_code::cart_empty: return "cart_empty";
    case error_code::conflict: return "conflict";
    case error_code::idempotency_mismatch: return "idempotency_mismatch";
    case error_code::amount_mismatch: return "amount_mismatch";
    case error_code::rate_limited: return "rate_limited";
    case error_code::overloaded: return "overloaded";
    case error_code::not_primary: return "not_primary";
    case error_code::io_error: return "io_error";
    case error_code::corruption: return "corruption";
    case error_code::not_admitted: return "not_admitted";
    case error_code::sold_out: return "sold_out";
  }
  return "invalid_request";
}

}  // namespace stampede
