// A draw's entries (one a user) and the indexes the drop asks of them: entries in
// HMAC-SHA256(seed, user id) order for the draw, the entries still waiting for a unit in
// rank order, the picks whose hold is being placed, and the winners whose hold may have
// lapsed. Entries change only through apply(), with the values the log holds.
// Shard-local: the drop's shard thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/node_hash_map.h"
#include "core/crypto.h"
#include "core/drop_types.h"

namespace stampede {

class drop_draw {
 public:
  // `rank_key`: HMAC keyed with the drop's seed; outlives the draw.
  explicit drop_draw(const hmac_key& rank_key) : rank_key_(rank_key) {}

  const drop_entry* find(std::string_view user_id) const;
  size_t size() const { return entries_.size(); }

  void apply(const drop_entry& e);
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [user, s] : entries_) f(s.entry);
  }

  // Every entry ranked: 1, 2, ... by HMAC-SHA256(seed, user id) ascending (the draw).
  std::vector<drop_entry> ranked() const;
  // Up to n entries still waiting for a unit, best rank first.
  std::vector<std::string> next_in_rank(size_t n) const;
  // Entries picked and not yet answered (their hold is being placed).
  std::vector<std::string> offered() const;
  int64_t offered_count() const { return static_cast<int64_t>(offered_.size()); }
  // Winners whose hold deadline is at or before now_ms: has the hold lapsed unordered?
  std::vector<std::string> holds_due(int64_t now_ms, size_t max) const;

 private:
  struct slot {
    drop_entry entry;
    sha256_digest rank_key{};
  };
  void index(const slot& s);
  void unindex(const slot& s);

  const hmac_key& rank_key_;
  absl::node_hash_map<std::string, slot> entries_;
  absl::btree_map<int64_t, std::string> waiting_by_rank_;             // ranked, entered
  absl::btree_set<std::string> offered_;                              // picked, unanswered
  absl::btree_set<std::pair<int64_t, std::string>> won_by_deadline_;  // (held until, user)
};

}  // namespace stampede
