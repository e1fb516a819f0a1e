#include "core/drop_draw.h"

#include <algorithm>

#include "core/ids.h"

namespace stampede {

const drop_entry* drop_draw::find(std::string_view user_id) const {
  auto it = entries_.find(as_key(user_id));
  return it == entries_.end() ? nullptr : &it->second.entry;
}

void drop_draw::index(const slot& s) {
  const drop_entry& e = s.entry;
  if (e.stage == entry_stage::entered && e.rank > 0) waiting_by_rank_.emplace(e.rank, e.user_id);
  if (e.stage == entry_stage::offered) offered_.insert(e.user_id);
  if (e.stage == entry_stage::won && e.held_until_ms > 0)
    won_by_deadline_.insert({e.held_until_ms, e.user_id});
}

void drop_draw::unindex(const slot& s) {
  const drop_entry& e = s.entry;
  if (e.stage == entry_stage::entered && e.rank > 0) waiting_by_rank_.erase(e.rank);
  if (e.stage == entry_stage::offered) offered_.erase(e.user_id);
  if (e.stage == entry_stage::won && e.held_until_ms > 0)
    won_by_deadline_.erase({e.held_until_ms, e.user_id});
}

void drop_draw::apply(const drop_entry& e) {
  auto [it, inserted] = entries_.try_emplace(e.user_id);
  if (inserted) {
    it->second.rank_key = rank_key_.sign(e.user_id);
  } else {
    unindex(it->second);
  }
  it->second.entry = e;
  index(it->second);
}

std::vector<drop_entry> drop_draw::ranked() const {
  std::vector<const slot*> order;
  order.reserve(entries_.size());
  for (const auto& [user, s] : entries_) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const slot* a, const slot* b) {
    return std::tie(a->rank_key, a->entry.user_id) < std::tie(b->rank_key, b->entry.user_id);
  });
  std::vector<drop_entry> out;
  out.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    drop_entry e = order[i]->entry;
    e.rank = static_cast<int64_t>(i) + 1;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> drop_draw::next_in_rank(size_t n) const {
  std::vector<std::string> out;
  for (auto it = waiting_by_rank_.begin(); it != waiting_by_rank_.end() && out.size() < n; ++it)
    out.push_back(it->second);
  return out;
}

std::vector<std::string> drop_draw::offered() const { return {offered_.begin(), offered_.end()}; }

std::vector<std::string> drop_draw::holds_due(int64_t now_ms, size_t max) const {
  std::vector<std::string> out;
  for (auto it = won_by_deadline_.begin();
       it != won_by_deadline_.end() && it->first <= now_ms && out.size() < max; ++it)
    out.push_back(it->second);
  return out;
}

}  // namespace stampede
