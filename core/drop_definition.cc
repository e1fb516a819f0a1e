#include "core/drop_definition.h"

#include "absl/container/flat_hash_set.h"
#include "core/ids.h"

namespace stampede {

namespace {

std::optional<error> validate_products(const drop_definition& d) {
  if (d.product_ids.empty() || d.product_ids.size() > limits::drop_products_max)
    return field_error("product_ids", "a drop has 1 to 20 products");
  absl::flat_hash_set<std::string> seen;
  for (const auto& id : d.product_ids) {
    if (!is_valid_product_id(id))
      return field_error("product_ids", "product ids match [A-Za-z0-9._-]{1,64}");
    if (!seen.insert(id).second)
      return field_error("product_ids", "product " + id + " is named twice");
  }
  return std::nullopt;
}

std::optional<error> validate_schedule(const drop_definition& d, int64_t now_ms) {
  if (d.opens_at_ms <= 0) return field_error("opens_at", "opens_at is required");
  if (d.opens_at_ms > now_ms + limits::drop_schedule_horizon_ms)
    return field_error("opens_at", "opens_at is more than a year ahead");
  if (d.mode == drop_mode::queue) {
    if (d.draw_closes_at_ms)
      return field_error("draw_closes_at", "draw_closes_at is for draws only");
    return std::nullopt;
  }
  if (!d.draw_closes_at_ms) return field_error("draw_closes_at", "a draw needs draw_closes_at");
  if (*d.draw_closes_at_ms <= d.opens_at_ms)
    return field_error("draw_closes_at", "draw_closes_at must be after opens_at");
  if (*d.draw_closes_at_ms <= now_ms)
    return field_error("draw_closes_at", "draw_closes_at must be in the future");
  if (*d.draw_closes_at_ms > now_ms + limits::drop_schedule_horizon_ms)
    return field_error("draw_closes_at", "draw_closes_at is more than a year ahead");
  return std::nullopt;
}

}  // namespace

std::optional<error> validate(const drop_definition& d, int64_t now_ms) {
  if (!is_valid_product_id(d.id)) return field_error("id", "drop ids match [A-Za-z0-9._-]{1,64}");
  if (auto e = validate_products(d)) return e;
  if (auto e = validate_schedule(d, now_ms)) return e;
  if (d.admit_per_s < 1 || d.admit_per_s > limits::drop_admit_per_s_max)
    return field_error("admit_per_s", "admit_per_s is 1 to 100000");
  if (d.admission_ttl_s < limits::drop_admission_ttl_min_s ||
      d.admission_ttl_s > limits::drop_admission_ttl_max_s)
    return field_error("admission_ttl", "admission_ttl is 10 to 86400 seconds");
  if (d.overbook_permille < 0 || d.overbook_permille > limits::drop_overbook_permille_max)
    return field_error("overbook", "overbook is 0 to 10");
  return std::nullopt;
}

}  // namespace stampede
