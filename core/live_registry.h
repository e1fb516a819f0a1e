// Who watches what this shard owns (live.h): per topic key (topic.h), how many connections
// on each shard watch it, and per watched product the availability last published. Also
// the sink through which this shard hands events to the connections it holds itself.
// Shard-local: only the owning shard's thread touches a live_registry; the sink is set on
// that thread before any watch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/live.h"

namespace stampede {

class live_registry {
 public:
  explicit live_registry(uint32_t shard_count) : shard_count_(shard_count) {}

  void set_sink(live_sink* sink) { sink_ = sink; }
  live_sink* sink() const { return sink_; }

  // One more (or one fewer) connection on shard `from` watches `key`. A product topic's
  // watchers start its availability tracking at `available`.
  void add(const std::string& key, uint32_t from);
  void track_availability(const std::string& product_id, int64_t available);
  void remove(const std::string& key, uint32_t from);

  bool empty() const { return watchers_.empty(); }
  // Marks in `to` (one flag per shard) the shards watching `key`; true if any does.
  bool mark_watchers(std::string_view key, std::vector<bool>& to) const;
  // Watching shards of `key`, with a count each (0 for a shard that does not watch).
  const std::vector<uint32_t>* watchers(std::string_view key) const;
  // Per watched product, the availability last published (publish updates it).
  absl::flat_hash_map<std::string, int64_t>& published_availability() { return published_; }
  uint32_t shard_count() const { return shard_count_; }

 private:
  const uint32_t shard_count_;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> watchers_;
  absl::flat_hash_map<std::string, int64_t> published_;
  live_sink* sink_ = nullptr;
};

}  // namespace stampede
