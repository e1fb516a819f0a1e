// JSON in and out: every shape of API.md rendered from the engine's values, and strict
// readers for request bodies (wrong type or out of range -> a field error, never a guess).
// Rendering is a pure function of its input, so a stored answer renders to the same bytes
// when an Idempotency-Key replays it. Pure functions: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/cart.h"
#include "core/catalog.h"
#include "core/checkout.h"
#include "core/drop.h"
#include "core/errors.h"
#include "core/order.h"

namespace stampede::http {

// Store-wide settings that appear in answers.
struct presentation {
  std::string currency = "USD";
  std::string support_email = "support@example.com";
};

namespace json = boost::json;

// Body parsing: nesting deeper than this is refused.
inline constexpr unsigned json_depth_max = 32;
// Parses a request body; nullopt if it is not valid JSON (bad syntax, bad UTF-8, too deep).
std::optional<json::value> parse_body(std::string_view body);

json::value to_json(const product_view& p, const presentation& pr, bool admin);
json::value to_json(const cart_view& c, const presentation& pr);
// The same cart, written straight to text (the add-to-cart answer).
std::string cart_text(const cart_view& c, const presentation& pr);
json::value to_json(const address& a);
json::value to_json(const shipping_method& m);
json::value to_json(const std::vector<shipping_method>& ms);
json::value to_json(const order& o, const presentation& pr);
json::value to_json(const payment& p, const presentation& pr);
json::value to_json(const notification& n, const presentation& pr);
json::value to_json(const checkout_summary& s, const presentation& pr);
json::value error_json(const error& e);
// Drops: the public view (with the admin's counts and settings when `admin`), a queue
// ticket, a draw entry, a place on a waitlist.
json::value to_json(const drop_view& v, bool admin);
json::value to_json(const ticket_view& t);
// The same ticket, written straight to text (the join and ticket answers).
std::string ticket_text(const ticket_view& t);
json::value to_json(const entry_view& e);
json::value to_json(const waitlist_place& w);

// Field readers. Each returns nullopt when the field is absent, and sets `bad` to the field
// name when it is present with the wrong type or out of range.
struct reader {
  const json::object& obj;
  std::string bad;  // the first bad field
  std::string why;  // what it must be, as a sentence naming it ("quantity must be ...")

  std::optional<std::string> str(std::string_view key, size_t max_len = 10'000);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::vector<std::string>> str_list(std::string_view key, size_t max_items,
                                                   size_t max_len);
  // RFC 3339 or null: outer nullopt when absent, inner nullopt for JSON null.
  std::optional<std::optional<int64_t>> time_or_null(std::string_view key);
  bool has(std::string_view key) const { return obj.contains(key); }
  // Marks `key` bad (if nothing is yet) with why = "<key> must be <what>".
  void refuse(std::string_view key, std::string what);
};

}  // namespace stampede::http
