#include "core/live_registry.h"

#include <algorithm>

#include "core/ids.h"
#include "core/topic.h"

namespace stampede {

void live_registry::add(const std::string& key, uint32_t from) {
  auto& counts = watchers_[key];
  counts.resize(shard_count_);
  ++counts[from];
}

void live_registry::track_availability(const std::string& product_id, int64_t available) {
  published_.try_emplace(product_id, available);
}

void live_registry::remove(const std::string& key, uint32_t from) {
  auto it = watchers_.find(key);
  if (it == watchers_.end() || it->second[from] == 0) return;
  --it->second[from];
  if (std::any_of(it->second.begin(), it->second.end(), [](uint32_t n) { return n > 0; }))
    return;
  watchers_.erase(it);
  auto t = parse_topic_key(key);
  if (t && t->kind == topic_kind::product) published_.erase(t->id);
}

bool live_registry::mark_watchers(std::string_view key, std::vector<bool>& to) const {
  const auto* counts = watchers(key);
  if (!counts) return false;
  bool any = false;
  for (uint32_t i = 0; i < to.size(); ++i)
    if ((*counts)[i] > 0) to[i] = any = true;
  return any;
}

const std::vector<uint32_t>* live_registry::watchers(std::string_view key) const {
  auto it = watchers_.find(as_key(key));
  return it == watchers_.end() ? nullptr : &it->second;
}

}  // namespace stampede
