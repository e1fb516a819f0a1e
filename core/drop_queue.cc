#include "core/drop_queue.h"

#include <cmath>

#include "core/ids.h"

namespace stampede {

const drop_ticket* drop_queue::find(std::string_view user_id) const {
  auto it = tickets_.find(as_key(user_id));
  return it == tickets_.end() ? nullptr : &it->second.ticket;
}

void drop_queue::index(slot& s) {
  const drop_ticket& t = s.ticket;
  if (in_prequeue(t)) {
    if (!s.ranked) {
      s.rank = rank_key_.sign(t.user_id);
      s.ranked = true;
    }
    prequeue_.insert({s.rank, t.user_id});
  }
  if (in_line(t)) {
    line_.extend_to(t.place);
    line_.set(t.place, true);
    if (static_cast<int64_t>(place_users_.size()) < line_.size()) place_users_.resize(line_.size());
    place_users_[t.place - 1] = t.user_id;
  }
  if (t.state == ticket_state::waiting && !watchers_.contains(as_key(t.user_id)))
    unseen_.insert({s.seen_ms, s.seq});
  if (unused_admission(t)) unused_.insert({t.admitted_until_ms, s.seq});
}

void drop_queue::unindex(const slot& s) {
  const drop_ticket& t = s.ticket;
  if (in_prequeue(t)) prequeue_.erase({s.rank, t.user_id});
  if (in_line(t)) line_.set(t.place, false);
  unseen_.erase({s.seen_ms, s.seq});
  if (unused_admission(t)) unused_.erase({t.admitted_until_ms, s.seq});
}

void drop_queue::apply(const drop_ticket& t) {
  auto [it, inserted] = tickets_.try_emplace(t.user_id);
  slot& s = it->second;
  if (inserted) {
    s.seen_ms = t.joined_at_ms;
    s.seq = user_of_seq_.size();
    user_of_seq_.push_back(&it->first);
  } else {
    unindex(s);
  }
  s.ticket = t;
  index(s);
}

void drop_queue::remove(std::string_view user_id) {
  auto it = tickets_.find(as_key(user_id));
  if (it == tickets_.end()) return;
  unindex(it->second);
  user_of_seq_[it->second.seq] = nullptr;
  tickets_.erase(it);
}

std::vector<std::string> drop_queue::prequeue_in_rank_order() const {
  std::vector<std::string> out;
  out.reserve(prequeue_.size());
  for (const auto& [rank, user] : prequeue_) out.push_back(user);
  return out;
}

std::vector<std::string> drop_queue::head(int64_t n) const {
  std::vector<std::string> out;
  for (int64_t p = line_.first(); p != 0 && static_cast<int64_t>(out.size()) < n;
       p = line_.next_after(p))
    out.push_back(place_users_[p - 1]);
  return out;
}

std::vector<std::string> drop_queue::all_waiting() const {
  std::vector<std::string> out = head(line_.count());
  for (const auto& [rank, user] : prequeue_) out.push_back(user);
  return out;
}

std::vector<std::string> drop_queue::users_of(const absl::btree_set<timed>& set, int64_t up_to_ms,
                                              size_t max) const {
  std::vector<std::string> out;
  for (auto it = set.begin(); it != set.end() && it->first <= up_to_ms && out.size() < max; ++it)
    out.push_back(*user_of_seq_[it->second]);
  return out;
}

std::vector<std::string> drop_queue::unseen_since(int64_t cutoff_ms, size_t max) const {
  return users_of(unseen_, cutoff_ms, max);
}

std::vector<std::string> drop_queue::admissions_lapsed(int64_t now_ms, size_t max) const {
  return users_of(unused_, now_ms, max);
}

void drop_queue::touch(std::string_view user_id, int64_t now_ms) {
  auto it = tickets_.find(as_key(user_id));
  if (it == tickets_.end()) return;
  slot& s = it->second;
  if (now_ms <= s.seen_ms) return;
  bool listed = unseen_.erase({s.seen_ms, s.seq}) > 0;
  s.seen_ms = now_ms;
  if (listed) unseen_.insert({s.seen_ms, s.seq});
}

void drop_queue::watch(std::string_view user_id, int delta, int64_t now_ms) {
  auto w = watchers_.find(as_key(user_id));
  int32_t before = w == watchers_.end() ? 0 : w->second;
  int32_t after = std::max<int32_t>(0, before + delta);
  if (after == before) return;
  auto it = tickets_.find(as_key(user_id));
  if (it != tickets_.end()) unindex(it->second);
  if (after == 0) {
    watchers_.erase(w);
  } else {
    watchers_[std::string(user_id)] = after;
  }
  if (it != tickets_.end()) {
    // A watched ticket is seen for as long as it is watched; its clock starts at the end.
    it->second.seen_ms = std::max(it->second.seen_ms, now_ms);
    index(it->second);
  }
}

void drop_queue::seen_all(int64_t now_ms) {
  unseen_.clear();
  for (auto& [user, s] : tickets_) {
    s.seen_ms = now_ms;
    if (s.ticket.state == ticket_state::waiting && !watchers_.contains(as_key(user)))
      unseen_.insert({now_ms, s.seq});
  }
}

std::optional<int64_t> drop_queue::estimate(std::string_view user_id, int64_t ahead, double per_s,
                                            int64_t pauses) {
  auto it = tickets_.find(as_key(user_id));
  if (it == tickets_.end()) return std::nullopt;
  slot& s = it->second;
  std::optional<int64_t> eta;
  // The next admission serves the head: a ticket with `ahead` in front is the (ahead+1)-th.
  if (per_s > 0) eta = static_cast<int64_t>(std::ceil(static_cast<double>(ahead + 1) / per_s));
  if (s.eta_shown_s && s.eta_pauses == pauses && (!eta || *eta > *s.eta_shown_s))
    eta = s.eta_shown_s;
  s.eta_shown_s = eta;
  s.eta_pauses = pauses;
  return eta;
}

}  // namespace stampede
