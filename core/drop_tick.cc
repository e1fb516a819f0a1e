// The drop's clock (drop.h): the opening, the draw, expiries, the sold-out latch and
// admissions, each step seeing the effects of the one before.
#include <algorithm>

#include "core/drop.h"
#include "core/limits.h"

namespace stampede {

drop_tick_outcome drop::tick(int64_t now_ms, drop_emit emit) {
  drop_tick_outcome out;
  if (status_.closed || now_ms < definition_.opens_at_ms) return out;
  if (definition_.mode == drop_mode::queue) {
    if (!status_.opened) {
      open_queue(emit);
      out.opened_now = true;
    }
    expire_tickets(now_ms, emit);
    if (!status_.sold_out && nothing_left() && nothing_held()) {
      set_status(emit, [](drop_status& s) { s.sold_out = true; });
      out.sold_out_now = true;
    }
    out.admitted = admit(now_ms, emit);
    return out;
  }
  if (!status_.drawn && now_ms >= *definition_.draw_closes_at_ms) {
    run_draw(emit);
    out.opened_now = true;
  }
  if (!status_.drawn) return out;
  out.holds_to_check = holds_due(now_ms);
  if (!status_.sold_out && draw_.offered_count() == 0 && nothing_left() && nothing_held()) {
    set_status(emit, [](drop_status& s) { s.sold_out = true; });
    out.sold_out_now = true;
  }
  out.grants = pick_winners(emit);
  return out;
}

void drop::restored(int64_t now_ms) {
  queue_.seen_all(now_ms);
  checking_.clear();
  resend_grants_ = true;
  // The rate limit's admission times again, in time order: a snapshot lists its tickets in
  // any order, and a time noted out of order counts as the latest seen.
  std::vector<int64_t> times;
  queue_.for_each([&times](const drop_ticket& t) {
    if (t.admitted_at_ms > 0) times.push_back(t.admitted_at_ms);
  });
  std::sort(times.begin(), times.end());
  admissions_ = admission_history{};
  for (int64_t at : times) admissions_.note(at);
}

// Everyone who joined before the opening, placed in HMAC-SHA256(seed, user id) order; the
// seed is revealed with the status that says so.
void drop::open_queue(drop_emit emit) {
  int64_t place = queue_.next_place();
  for (const auto& user : queue_.prequeue_in_rank_order()) {
    drop_ticket t = *queue_.find(user);
    t.place = place++;
    emit(drop_ticket_set{id(), std::move(t)});
  }
  set_status(emit, [](drop_status& s) { s.opened = true; });
}

// Admissions unused by their deadline, and waiting tickets nobody looked at for
// limits::drop_ticket_unseen_ttl_ms, turn expired. (Once sold out, waiting tickets read
// sold_out and stay so.)
int64_t drop::expire_tickets(int64_t now_ms, drop_emit emit) {
  std::vector<std::string> users = queue_.admissions_lapsed(now_ms, limits::drop_tickets_max);
  if (!status_.sold_out) {
    auto unseen =
        queue_.unseen_since(now_ms - limits::drop_ticket_unseen_ttl_ms, limits::drop_tickets_max);
    users.insert(users.end(), unseen.begin(), unseen.end());
  }
  for (const auto& user : users) {
    drop_ticket t = *queue_.find(user);
    t.state = ticket_state::expired;
    emit(drop_ticket_set{id(), std::move(t)});
  }
  auto n = static_cast<int64_t>(users.size());
  if (n > 0) set_status(emit, [n](drop_status& s) { s.expired += n; });
  return n;
}

// From the head of the line, as many as the rate bound and the unit bound both allow.
std::vector<std::string> drop::admit(int64_t now_ms, drop_emit emit) {
  if (!status_.opened || status_.paused || status_.sold_out) return {};
  // A first add reaches the drop from the user's shard, the supply it changed from the
  // product's at its next tick: until then the add's units still look available, so the
  // shopper still counts as holding nothing (else the same units would admit someone else).
  if (uses_unheard_ > 0 && uses_unheard_since_ms_ == 0) uses_unheard_since_ms_ = now_ms;
  if (uses_unheard_ > 0 && now_ms - uses_unheard_since_ms_ > limits::drop_supply_lag_ms_max)
    uses_unheard_ = uses_unheard_since_ms_ = 0;
  int64_t unused = queue_.unused_admissions() + uses_unheard_;
  int64_t room = std::min(admissions_.room(now_ms, definition_.admit_per_s),
                          admission_room_for_units(supply_, unused, definition_.overbook_permille));
  if (room <= 0) return {};
  std::vector<std::string> users = queue_.head(room);
  for (const auto& user : users) {
    drop_ticket t = *queue_.find(user);
    t.state = ticket_state::admitted;
    t.admitted_at_ms = now_ms;
    t.admitted_until_ms = now_ms + definition_.admission_ttl_s * 1000;
    emit(drop_ticket_set{id(), std::move(t)});
  }
  auto n = static_cast<int64_t>(users.size());
  if (n > 0) set_status(emit, [n](drop_status& s) { s.admitted += n; });
  return users;
}

void drop::run_draw(drop_emit emit) {
  for (auto& e : draw_.ranked()) emit(drop_entry_set{id(), std::move(e)});
  set_status(emit, [](drop_status& s) { s.drawn = true; });
}

// The next entries in rank order, one for each set of units (one of every product) not
// already promised to a pick whose hold is being placed.
std::vector<std::string> drop::pick_winners(drop_emit emit) {
  if (status_.paused || status_.sold_out) return {};
  std::vector<std::string> out;
  if (resend_grants_) {
    out = draw_.offered();
    resend_grants_ = false;
  }
  int64_t sets = supply_.empty() ? 0 : limits::on_hand_max;
  for (const auto& s : supply_) sets = std::min(sets, s.known ? s.available : 0);
  int64_t room = sets - draw_.offered_count();
  if (room <= 0) return out;
  for (const auto& user : draw_.next_in_rank(static_cast<size_t>(room))) {
    drop_entry e = *draw_.find(user);
    e.stage = entry_stage::offered;
    emit(drop_entry_set{id(), std::move(e)});
    out.push_back(user);
  }
  return out;
}

// Winners at their hold deadline, each asked about once until the answer comes.
std::vector<std::string> drop::holds_due(int64_t now_ms) {
  std::vector<std::string> out;
  for (auto& user : draw_.holds_due(now_ms, limits::drop_entries_max))
    if (checking_.insert(user).second) out.push_back(std::move(user));
  return out;
}

// A winner's hold took one unit of each product: count it before the product shards' next
// word, so the next tick does not pick for units already gone.
void drop::take_supply_for_win() {
  for (auto& s : supply_) {
    if (!s.known) continue;
    s.available = std::max<int64_t>(0, s.available - 1);
    s.reserved += 1;
  }
}

}  // namespace stampede
