// Which shard owns a key: products by hash(product_id) % N, users by hash(user_id) % N,
// server-made ids by the owner tag they carry. Immutable after construction: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/ids.h"

namespace stampede {

class router {
 public:
  explicit router(uint32_t shard_count) : shard_count_(shard_count) {}

  uint32_t shard_count() const { return shard_count_; }
  uint32_t product_shard(std::string_view product_id) const {
    return static_cast<uint32_t>(stable_hash(product_id) % shard_count_);
  }
  // A drop lives where a product of the same id would (DESIGN.md: hash(drop_id)).
  uint32_t drop_shard(std::string_view drop_id) const { return product_shard(drop_id); }
  // Users route by the same 32-bit tag their ids carry, so an order id alone finds them.
  uint32_t user_shard(std::string_view user_id) const { return user_tag(user_id) % shard_count_; }
  std::optional<uint32_t> owned_id_shard(std::string_view id, std::string_view prefix) const {
    auto tag = owner_tag_of(id, prefix);
    if (!tag) return std::nullopt;
    return *tag % shard_count_;
  }

 private:
  uint32_t shard_count_;
};

}  // namespace stampede
