// Addresses a user keeps and the store's shipping methods, with the checks API.md sets
// on them. Plain values: addresses live on their user's shard; every shard keeps its own
// copy of the shipping methods, replaced by a broadcast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"

namespace stampede {

struct address {
  std::string id;  // "adr_..."
  std::string name;
  std::string line1;
  std::string line2;
  std::string city;
  std::string region;
  std::string postal_code;
  std::string country;  // ISO 3166 alpha-2
  std::string phone;
  bool operator==(const address&) const = default;
};

// name, line1, city, postal_code and country are required; country is two letters A-Z.
std::optional<error> validate(const address& a);

struct shipping_method {
  std::string id;
  std::string name;
  int64_t price = 0;
  bool operator==(const shipping_method&) const = default;
};

std::vector<shipping_method> default_shipping_methods();
// 1..shipping_methods_max methods, unique ids of 1..64 id characters, names 1..200, price >= 0.
std::optional<error> validate(const std::vector<shipping_method>& methods);

}  // namespace stampede
