// A drop's definition (the body of POST /v1/admin/drops) and its checks: ids, mode, the
// opening instant, draw_closes_at only for draws and after opens_at, admit_per_s,
// admission_ttl and overbook within their bounds. Which products exist and whether one is
// already in an open drop are the product shards' to say (drop_claims.h). Plain values and
// pure functions: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/drop_types.h"
#include "core/errors.h"

namespace stampede {

struct drop_definition {
  std::string id;
  std::vector<std::string> product_ids;
  drop_mode mode = drop_mode::queue;
  int64_t opens_at_ms = 0;
  std::optional<int64_t> draw_closes_at_ms;  // draws only
  int64_t admit_per_s = limits::drop_admit_per_s_default;
  int64_t admission_ttl_s = limits::drop_admission_ttl_default_s;
  int64_t overbook_permille = 0;  // overbook 0.2 is 200
  bool operator==(const drop_definition&) const = default;
};

// The first thing wrong with `d`, created at `now_ms`, as invalid_request naming the field;
// nullopt when it may be created. A draw must close after it opens and in the future.
std::optional<error> validate(const drop_definition& d, int64_t now_ms);

}  // namespace stampede
