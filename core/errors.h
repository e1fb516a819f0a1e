// The error enum and the result type every fallible operation in core/ returns.
// Expected failures are values, never exceptions; server/ maps each code to an HTTP
// status and the API's error code in one table. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/check.h"

namespace stampede {

enum class error_code : uint8_t {
  invalid_request,
  unauthorized,
  forbidden,
  sale_not_started,
  sale_ended,
  not_found,
  payment_failed,
  out_of_stock,
  limit_exceeded,
  invalid_transition,
  cart_empty,
  conflict,
  idempotency_mismatch,
  amount_mismatch,
  rate_limited,
  overloaded,
  not_primary,  // a standby or replica, or a deposed primary (replication)
  io_error,
  corruption,
  not_admitted,  // a drop's product without a valid admission (403)
  sold_out,      // joining a drop's queue when nothing is left (410)
};

// The stable machine-readable code of API.md ("out_of_stock").
std::string_view to_string(error_code code);

// One short line of an out_of_stock answer at checkout.
struct shortage {
  std::string product_id;
  int64_t available = 0;
  bool operator==(const shortage&) const = default;
};

// Structured details; only the fields that apply to the code are set.
struct error_details {
  std::optional<std::string> product_id;
  std::optional<int64_t> available;
  std::optional<int64_t> max_per_user;
  std::optional<int64_t> already;
  std::optional<int64_t> sale_starts_at_ms;
  std::optional<int64_t> sale_ends_at_ms;
  std::optional<std::string> field;  // the request field at fault, for invalid_request
  std::optional<std::string> scope;  // limit_exceeded: "user", "address" or "card"
  std::optional<int64_t> limit;      // limit_exceeded by address or card: the product's limit
  std::vector<shortage> items;       // every short line, for out_of_stock at checkout
  std::optional<int64_t> retry_after_s;  // when a refusal ends, if not at once (Retry-After)
  bool operator==(const error_details&) const = default;
};

struct error {
  error_code code;
  std::string message;
  error_details details;
};

inline error make_error(error_code code, std::string message, error_details details = {}) {
  return error{code, std::move(message), std::move(details)};
}

// invalid_request naming the bad field.
inline error field_error(std::string field, std::string message) {
  error_details d;
  d.field = std::move(field);
  return make_error(error_code::invalid_request, std::move(message), std::move(d));
}

// A change the log cannot hold in one record (wal_format's record_payload_max): refused
// before anything is applied or acknowledged.
inline error too_large_to_store() {
  return make_error(error_code::invalid_request,
                    "this change is too large to store (a log record holds at most 16 MiB)");
}

// A value or an error. Constructible from either; [[nodiscard]] so that a result is
// never dropped on the floor.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok(). Checked in every build: reading the value of an error is a programmer
  // error that must stop the process, not read garbage (std::get would throw instead).
  T& value() & {
    STAMPEDE_CHECK(ok());
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    STAMPEDE_CHECK(ok());
    return *std::get_if<0>(&v_);
  }
  T&& value() && {
    STAMPEDE_CHECK(ok());
    return std::move(*std::get_if<0>(&v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok(), checked likewise.
  const error& err() const& {
    STAMPEDE_CHECK(!ok());
    return *std::get_if<1>(&v_);
  }
  error&& err() && {
    STAMPEDE_CHECK(!ok());
    return std::move(*std::get_if<1>(&v_));
  }
  error_code code() const { return err().code; }

 private:
  std::variant<T, error> v_;
};

// For operations that answer nothing but success.
struct ok_t {
  bool operator==(const ok_t&) const = default;
};

}  // namespace stampede
