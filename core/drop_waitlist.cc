#include "core/drop_waitlist.h"

#include "core/limits.h"
#include "core/ids.h"
#include "core/limits.h"

namespace stampede {

const waitlists::list* waitlists::find_list(std::string_view product_id) const {
  auto it = lists_.find(as_key(product_id));
  return it == lists_.end() ? nullptr : &it->second;
}

const waitlist_entry* waitlists::find(std::string_view product_id, std::string_view user_id) const {
  const list* l = find_list(product_id);
  if (!l) return nullptr;
  auto it = l->entries.find(as_key(user_id));
  return it == l->entries.end() ? nullptr : &it->second;
}

size_t waitlists::size(std::string_view product_id) const {
  const list* l = find_list(product_id);
  return l ? l->entries.size() : 0;
}

int64_t waitlists::offered_units(std::string_view product_id) const {
  const list* l = find_list(product_id);
  return l ? l->offered_units : 0;
}

int64_t waitlists::unoffered(std::string_view product_id) const {
  const list* l = find_list(product_id);
  return l ? static_cast<int64_t>(l->entries.size()) - l->offered_entries : 0;
}

result<bool> waitlists::join(const std::string& product_id, const std::string& user_id,
                             int64_t quantity, int64_t available, int64_t now_ms,
                             waitlist_emit emit) {
  if (find(product_id, user_id)) return false;
  if (quantity < limits::quantity_min || quantity > limits::quantity_max)
    return field_error("quantity", "quantity must be an integer 1..10000");
  if (available > 0) {
    error_details d;
    d.product_id = product_id;
    d.available = available;
    return make_error(error_code::conflict, "units are available: add them to your cart",
                      std::move(d));
  }
  if (size(product_id) >= limits::waitlist_entries_per_product_max)
    return make_error(error_code::overloaded, "the waitlist of " + product_id + " is full");
  const list* l = find_list(product_id);
  waitlist_entry e;
  e.user_id = user_id;
  e.quantity = quantity;
  e.place = (l ? l->line.size() : 0) + 1;
  e.joined_at_ms = now_ms;
  emit(waitlist_entry_set{product_id, std::move(e)});
  return true;
}

result<ok_t> waitlists::leave(const std::string& product_id, const std::string& user_id,
                              waitlist_emit emit) {
  if (!find(product_id, user_id))
    return make_error(error_code::not_found, "not on the waitlist of " + product_id);
  emit(waitlist_entry_removed{product_id, user_id});
  return ok_t{};
}

result<int64_t> waitlists::position(std::string_view product_id, std::string_view user_id) const {
  const waitlist_entry* e = find(product_id, user_id);
  if (!e)
    return make_error(error_code::not_found, "not on the waitlist of " + std::string(product_id));
  return find_list(product_id)->line.count_before(e->place) + 1;
}

std::vector<waitlist_entry> waitlists::offer(const std::string& product_id, int64_t available,
                                             waitlist_emit emit) {
  std::vector<waitlist_entry> out;
  const list* l = find_list(product_id);
  if (!l) return out;
  // Copies: emit() changes the list.
  int64_t left = available - l->offered_units;
  std::vector<waitlist_entry> picked;
  for (int64_t p = l->line.first(); p != 0 && left > 0; p = l->line.next_after(p)) {
    const waitlist_entry& e = l->entries.at(l->place_users[p - 1]);
    if (e.offered) continue;
    if (e.quantity > left) break;  // first come, first served: nobody jumps the head
    left -= e.quantity;
    picked.push_back(e);
  }
  for (auto& e : picked) {
    e.offered = true;
    out.push_back(e);
    emit(waitlist_entry_set{product_id, std::move(e)});
  }
  return out;
}

void waitlists::offer_answered(const std::string& product_id, const std::string& user_id,
                               std::optional<error_code> refused, waitlist_emit emit) {
  const waitlist_entry* e = find(product_id, user_id);
  if (!e || !e->offered) return;  // late or repeated
  if (refused && (*refused == error_code::out_of_stock || *refused == error_code::overloaded)) {
    waitlist_entry again = *e;
    again.offered = false;
    emit(waitlist_entry_set{product_id, std::move(again)});
    return;
  }
  emit(waitlist_entry_removed{product_id, user_id});
}

std::vector<std::pair<std::string, waitlist_entry>> waitlists::in_flight() const {
  std::vector<std::pair<std::string, waitlist_entry>> out;
  for (const auto& [product_id, l] : lists_)
    for (const auto& [user, e] : l.entries)
      if (e.offered) out.emplace_back(product_id, e);
  return out;
}

void waitlists::index(list& l, const waitlist_entry& e) {
  l.line.extend_to(e.place);
  l.line.set(e.place, true);
  if (static_cast<int64_t>(l.place_users.size()) < l.line.size())
    l.place_users.resize(l.line.size());
  l.place_users[e.place - 1] = e.user_id;
  if (e.offered) {
    l.offered_units += e.quantity;
    ++l.offered_entries;
  }
}

void waitlists::unindex(list& l, const waitlist_entry& e) {
  l.line.set(e.place, false);
  if (e.offered) {
    l.offered_units -= e.quantity;
    --l.offered_entries;
  }
}

void waitlists::apply(const waitlist_effect& effect) {
  if (const auto* set = std::get_if<waitlist_entry_set>(&effect)) {
    list& l = lists_[set->product_id];
    auto [it, inserted] = l.entries.try_emplace(set->entry.user_id, set->entry);
    if (!inserted) {
      unindex(l, it->second);
      it->second = set->entry;
    }
    index(l, it->second);
    return;
  }
  const auto& removed = std::get<waitlist_entry_removed>(effect);
  auto lit = lists_.find(as_key(removed.product_id));
  if (lit == lists_.end()) return;
  auto it = lit->second.entries.find(as_key(removed.user_id));
  if (it == lit->second.entries.end()) return;
  unindex(lit->second, it->second);
  lit->second.entries.erase(it);
  // An empty list starts again at place 1, so places stay bounded by the list's size.
  if (lit->second.entries.empty()) lists_.erase(lit);
}

}  // namespace stampede
