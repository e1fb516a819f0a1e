// The drops one shard owns (those whose id hashes to it), by id: creation with its checks,
// lookups, and the log's effects dispatched to the drop they name.
// Shard-local: the owning shard's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/drop.h"

namespace stampede {

class drop_book {
 public:
  // nullopt when `d` may be created at now_ms: valid, its id new, room for one more.
  std::optional<error> check_create(const drop_definition& d, int64_t now_ms) const;
  // REQUIRES: check_create passed; `seed` is limits::drop_seed_bytes raw bytes.
  void create(drop_definition d, std::string seed, int64_t now_ms, drop_emit emit);

  // A creation in flight (its products being claimed): one at a time per id. Not state.
  bool begin_creating(const std::string& id) { return !find(id) && creating_.insert(id).second; }
  void end_creating(const std::string& id) { creating_.erase(id); }

  drop* find(std::string_view id);
  const drop* find(std::string_view id) const;
  size_t size() const { return drops_.size(); }

  void apply(const drop_effect& e);

  template <class F>
  void for_each(F&& f) {
    for (auto& [id, d] : drops_) f(*d);
  }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [id, d] : drops_) f(static_cast<const drop&>(*d));
  }

 private:
  absl::btree_map<std::string, std::unique_ptr<drop>, std::less<>> drops_;
  absl::flat_hash_set<std::string> creating_;
};

}  // namespace stampede
