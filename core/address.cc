#include "core/address.h"

#include "absl/container/flat_hash_set.h"
#include "core/ids.h"
#include "core/limits.h"
#include "core/text.h"

namespace stampede {

std::optional<error> validate(const address& a) {
  struct field {
    const char* name;
    const std::string& value;
    bool required;
  };
  const field fields[] = {
      {"name", a.name, true},          {"line1", a.line1, true},
      {"line2", a.line2, false},       {"city", a.city, true},
      {"region", a.region, false},     {"postal_code", a.postal_code, true},
      {"country", a.country, true},    {"phone", a.phone, false},
  };
  for (const auto& f : fields) {
    if (f.required && text::blank(f.value)) return field_error(f.name, std::string(f.name) + " is required");
    if (text::has_control(f.value))
      return field_error(f.name, std::string(f.name) + " must not hold control characters");
    if (f.value.size() > limits::address_field_length_max)
      return field_error(f.name, std::string(f.name) + " is too long");
  }
  if (a.country.size() != 2 || a.country[0] < 'A' || a.country[0] > 'Z' || a.country[1] < 'A' ||
      a.country[1] > 'Z')
    return field_error("country", "country must be an ISO 3166 alpha-2 code such as \"US\"");
  return std::nullopt;
}

std::vector<shipping_method> default_shipping_methods() {
  return {{"standard", "Standard", 500}, {"express", "Express", 1500}};
}

std::optional<error> validate(const std::vector<shipping_method>& methods) {
  if (methods.empty() || methods.size() > limits::shipping_methods_max)
    return field_error("items", "between 1 and 20 shipping methods");
  absl::flat_hash_set<std::string> seen;
  for (const auto& m : methods) {
    if (!is_valid_product_id(m.id)) return field_error("id", "shipping method ids match [A-Za-z0-9._-]{1,64}");
    if (m.name.empty() || m.name.size() > limits::product_name_length_max)
      return field_error("name", "shipping method names are 1..200 bytes");
    if (m.price < 0 || m.price > limits::price_minor_max) return field_error("price", "price must be >= 0");
    if (!seen.insert(m.id).second) return field_error("id", "shipping method ids must be unique");
  }
  return std::nullopt;
}

}  // namespace stampede
