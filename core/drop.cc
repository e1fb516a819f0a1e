#include "core/drop.h"

#include <algorithm>

#include "core/check.h"
#include "core/limits.h"

namespace stampede {

drop::drop(drop_definition definition, std::string seed, int64_t created_at_ms)
    : definition_(std::move(definition)),
      seed_(std::move(seed)),
      created_at_ms_(created_at_ms),
      rank_key_(seed_),
      queue_(rank_key_),
      draw_(rank_key_),
      supply_(definition_.product_ids.size()) {
  STAMPEDE_CHECK(seed_.size() == limits::drop_seed_bytes);
}

std::string drop::seed_sha256_hex() const { return to_hex(sha256(seed_)); }

std::optional<std::string> drop::revealed_seed_hex() const {
  if (status_.opened || status_.drawn) return to_hex(seed_);
  return std::nullopt;
}

bool drop::nothing_left() const {
  return std::all_of(supply_.begin(), supply_.end(),
                     [](const product_supply& s) { return s.known && s.available == 0; });
}

bool drop::nothing_held() const {
  return std::all_of(supply_.begin(), supply_.end(),
                     [](const product_supply& s) { return s.known && s.reserved == 0; });
}

drop_state drop::state(int64_t now_ms) const {
  if (status_.closed) return drop_state::closed;
  if (now_ms < definition_.opens_at_ms) return drop_state::scheduled;
  if (status_.sold_out) return drop_state::sold_out;
  if (definition_.mode == drop_mode::draw && !status_.drawn) return drop_state::open;
  if (nothing_left()) return nothing_held() ? drop_state::sold_out : drop_state::sold_out_pending;
  return drop_state::open;
}

drop_view drop::view(int64_t now_ms) const {
  drop_view v;
  v.definition = definition_;
  v.state = state(now_ms);
  v.paused = status_.paused;
  v.seed_sha256 = seed_sha256_hex();
  v.seed = revealed_seed_hex();
  v.created_at_ms = created_at_ms_;
  bool waiting_reads_waiting = !status_.sold_out && !status_.closed;
  v.waiting = waiting_reads_waiting ? queue_.waiting() : 0;
  v.admitted = status_.admitted;
  v.converted = status_.converted;
  v.expired = status_.expired;
  v.entries = static_cast<int64_t>(draw_.size());
  v.winners = status_.winners;
  return v;
}

void drop::on_supply(std::string_view product_id, const product_supply& s) {
  for (size_t i = 0; i < supply_.size(); ++i)
    if (definition_.product_ids[i] == product_id) supply_[i] = s;
  uses_unheard_ = 0;  // sent after the takes it heard of: it shows their units
  uses_unheard_since_ms_ = 0;
}

void drop::set_status(drop_emit emit, absl::FunctionRef<void(drop_status&)> change) {
  drop_status next = status_;
  change(next);
  if (next == status_) return;
  emit(drop_status_set{id(), next});
}

// ---- Queue ----

result<bool> drop::join(const std::string& user_id, int64_t now_ms, drop_emit emit) {
  if (definition_.mode != drop_mode::queue)
    return make_error(
        error_code::conflict,
        "drop " + id() + " is a draw: enter it with POST /v1/drops/" + id() + "/entries");
  if (queue_.find(user_id)) {
    queue_.touch(user_id, now_ms);
    return false;
  }
  if (status_.closed) return make_error(error_code::sale_ended, "drop " + id() + " is closed");
  // A join after the opening instant queues behind everyone who joined before it.
  if (!status_.opened && now_ms >= definition_.opens_at_ms) open_queue(emit);
  if (state(now_ms) == drop_state::sold_out) return sold_out_error("drop " + id() + " is sold out");
  if (queue_.size() >= limits::drop_tickets_max || queue_.next_place() > limits::drop_places_max)
    return make_error(error_code::overloaded, "the queue of drop " + id() + " is full");
  drop_ticket t;
  t.user_id = user_id;
  t.place = status_.opened ? queue_.next_place() : 0;
  t.joined_at_ms = now_ms;
  emit(drop_ticket_set{id(), std::move(t)});
  return true;
}

result<ok_t> drop::leave(const std::string& user_id, drop_emit emit) {
  if (!queue_.find(user_id)) return make_error(error_code::not_found, "no ticket in drop " + id());
  emit(drop_ticket_removed{id(), user_id});
  return ok_t{};
}

result<ticket_view> drop::ticket(const std::string& user_id, int64_t now_ms,
                                 const admission_signer& signer) {
  const drop_ticket* t = queue_.find(user_id);
  if (!t) return make_error(error_code::not_found, "no ticket in drop " + id());
  queue_.touch(user_id, now_ms);
  ticket_view v;
  v.drop_id = id();
  v.state = t->state;
  if (t->state == ticket_state::waiting && status_.closed) v.state = ticket_state::closed;
  if (t->state == ticket_state::waiting && status_.sold_out) v.state = ticket_state::sold_out;
  if (t->place > 0) v.position = t->place;
  if (v.state == ticket_state::waiting && t->place > 0) {
    int64_t ahead = queue_.ahead_of(t->place);
    // At the drop's admission rate once it has admitted anyone (unknown before): with `ahead`
    // never growing, it never grows either, and a restart, which keeps admit_per_s and the
    // count, shows the same (API.md: an estimate grows only across a pause).
    double rate = status_.paused || status_.admitted == 0 ? 0 : static_cast<double>(definition_.admit_per_s);
    v.ahead = ahead;
    v.eta_s = queue_.estimate(user_id, ahead, rate, status_.pauses);
  } else if (v.state == ticket_state::admitted) {
    v.ahead = 0;
    v.eta_s = 0;
  }
  if (t->admitted_at_ms > 0) v.admitted_until_ms = t->admitted_until_ms;
  if (v.state == ticket_state::admitted && now_ms < t->admitted_until_ms)
    v.admission_token = signer.token(user_id, id(), t->admitted_until_ms);
  return v;
}

void drop::admission_used(const std::string& user_id, drop_emit emit) {
  const drop_ticket* t = queue_.find(user_id);
  if (!t || t->state != ticket_state::admitted || t->used) return;
  drop_ticket next = *t;
  next.used = true;
  emit(drop_ticket_set{id(), std::move(next)});
  ++uses_unheard_;
}

void drop::converted(const std::string& user_id, drop_emit emit) {
  if (const drop_ticket* t = queue_.find(user_id); t && t->admitted_at_ms > 0 && !t->converted) {
    drop_ticket next = *t;
    next.converted = true;
    emit(drop_ticket_set{id(), std::move(next)});
    set_status(emit, [](drop_status& s) { ++s.converted; });
  }
  if (const drop_entry* e = draw_.find(user_id);
      e && e->stage == entry_stage::won && e->held_until_ms > 0) {
    drop_entry next = *e;
    next.held_until_ms = 0;  // ordered: nothing more to check
    emit(drop_entry_set{id(), std::move(next)});
    set_status(emit, [](drop_status& s) { ++s.converted; });
  }
}

void drop::watch(const std::string& user_id, int delta, int64_t now_ms) {
  queue_.watch(user_id, delta, now_ms);
  watched& w = watched_[user_id];
  w.connections = std::max(0, w.connections + delta);
  if (w.connections == 0) watched_.erase(user_id);
}

std::vector<std::pair<std::string, ticket_view>> drop::pushes(
    int64_t now_ms, const admission_signer& signer, const std::vector<std::string>* users) {
  std::vector<std::pair<std::string, ticket_view>> out;
  auto consider = [&](const std::string& user, watched& w) {
    auto v = ticket(user, now_ms, signer);
    if (!v.ok() || (w.sent && *w.sent == v.value())) return;
    w.sent = v.value();
    out.emplace_back(user, std::move(v).value());
  };
  if (users) {
    for (const auto& u : *users)
      if (auto it = watched_.find(u); it != watched_.end()) consider(u, it->second);
    return out;
  }
  last_push_ms_ = now_ms;
  for (auto& [u, w] : watched_) consider(u, w);
  return out;
}

// ---- Draw ----

result<bool> drop::enter(const std::string& user_id, int64_t now_ms, drop_emit emit) {
  if (definition_.mode != drop_mode::draw)
    return make_error(
        error_code::conflict,
        "drop " + id() + " is a queue: join it with POST /v1/drops/" + id() + "/queue");
  if (draw_.find(user_id)) return false;
  if (now_ms < definition_.opens_at_ms) {
    error_details d;
    d.sale_starts_at_ms = definition_.opens_at_ms;
    return make_error(error_code::sale_not_started, "the draw is not open yet", std::move(d));
  }
  if (status_.closed || status_.drawn || now_ms >= *definition_.draw_closes_at_ms) {
    error_details d;
    d.sale_ends_at_ms = definition_.draw_closes_at_ms;
    return make_error(error_code::sale_ended, "the draw's entries have closed", std::move(d));
  }
  if (draw_.size() >= limits::drop_entries_max)
    return make_error(error_code::overloaded, "the draw of drop " + id() + " is full");
  drop_entry e;
  e.user_id = user_id;
  e.entered_at_ms = now_ms;
  emit(drop_entry_set{id(), std::move(e)});
  return true;
}

result<entry_view> drop::entry(const std::string& user_id) const {
  const drop_entry* e = draw_.find(user_id);
  if (!e) return make_error(error_code::not_found, "no entry in drop " + id());
  entry_view v{id(), e->stage, std::nullopt};
  bool over = status_.sold_out || status_.closed;
  if (over && (e->stage == entry_stage::entered || e->stage == entry_stage::offered))
    v.stage = entry_stage::lost;
  if (e->rank > 0) v.rank = e->rank;
  return v;
}

void drop::grant_answered(const std::string& user_id, result<int64_t> held_until_ms,
                          drop_emit emit) {
  const drop_entry* e = draw_.find(user_id);
  if (!e || e->stage != entry_stage::offered) return;  // late or repeated
  drop_entry next = *e;
  if (held_until_ms.ok()) {
    next.stage = entry_stage::won;
    next.held_until_ms = held_until_ms.value();
    take_supply_for_win();
  } else if (held_until_ms.code() == error_code::out_of_stock ||
             held_until_ms.code() == error_code::overloaded) {
    next.stage = entry_stage::entered;  // no unit after all: wait at its rank for one
  } else {
    next.stage = entry_stage::lost;  // over a limit, or the product is gone
  }
  bool won = next.stage == entry_stage::won;
  emit(drop_entry_set{id(), std::move(next)});
  if (won) set_status(emit, [](drop_status& s) { ++s.winners; });
}

void drop::hold_checked(const std::string& user_id, hold_outcome outcome, int64_t held_until_ms,
                        drop_emit emit) {
  checking_.erase(user_id);
  const drop_entry* e = draw_.find(user_id);
  if (!e || e->stage != entry_stage::won || e->held_until_ms == 0) return;
  if (outcome == hold_outcome::ordered) {
    converted(user_id, emit);
    return;
  }
  drop_entry next = *e;
  if (outcome == hold_outcome::held) {
    if (held_until_ms <= e->held_until_ms) return;  // nothing new; checked again next tick
    next.held_until_ms = held_until_ms;
  } else {
    next.stage = entry_stage::lost;
    next.held_until_ms = 0;
  }
  emit(drop_entry_set{id(), std::move(next)});
}

// ---- Admin ----

void drop::pause(drop_emit emit) {
  if (status_.closed || status_.paused) return;
  set_status(emit, [](drop_status& s) {
    s.paused = true;
    ++s.pauses;
  });
}

void drop::resume(drop_emit emit) {
  if (status_.closed) return;
  set_status(emit, [](drop_status& s) { s.paused = false; });
}

void drop::close(drop_emit emit) {
  set_status(emit, [](drop_status& s) { s.closed = true; });
}

// ---- Log ----

void drop::capture(drop_emit out) const {
  out(drop_created{definition_, seed_, created_at_ms_});
  out(drop_status_set{id(), status_});
  queue_.for_each([&](const drop_ticket& t) { out(drop_ticket_set{id(), t}); });
  draw_.for_each([&](const drop_entry& e) { out(drop_entry_set{id(), e}); });
}

void drop::apply(const drop_effect& e) {
  if (const auto* s = std::get_if<drop_status_set>(&e)) {
    status_ = s->status;
  } else if (const auto* t = std::get_if<drop_ticket_set>(&e)) {
    const drop_ticket* before = queue_.find(t->ticket.user_id);
    bool newly_admitted = t->ticket.admitted_at_ms > 0 &&
                          (!before || before->admitted_at_ms != t->ticket.admitted_at_ms);
    if (newly_admitted) admissions_.note(t->ticket.admitted_at_ms);
    queue_.apply(t->ticket);
  } else if (const auto* r = std::get_if<drop_ticket_removed>(&e)) {
    queue_.remove(r->user_id);
  } else if (const auto* en = std::get_if<drop_entry_set>(&e)) {
    draw_.apply(en->entry);
  }
}

}  // namespace stampede
