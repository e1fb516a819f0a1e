#include "core/user_table.h"

#include <algorithm>

#include "core/check.h"
#include "core/ids.h"

namespace stampede {

int64_t user_record::units_in_orders(std::string_view product_id) const {
  auto it = ordered_units.find(as_key(product_id));
  return it == ordered_units.end() ? 0 : it->second;
}

user_turn::~user_turn() {
  if (table_) table_->end_turn(*user_);
}

user_table::~user_table() {
  // Requests still waiting are dropped with the table; none may start now.
  closing_ = true;
}

error user_table::refusal() {
  return make_error(error_code::rate_limited,
                    "too many requests for this user: past the per-user rate (--rate-limit), "
                    "or too many waiting their turn");
}

user_record& user_table::get(std::string_view user_id) {
  STAMPEDE_DCHECK(owner_.is_current());
  auto it = users_.find(as_key(user_id));
  if (it != users_.end()) return it->second;
  auto [added, inserted] = users_.try_emplace(std::string(user_id));
  added->second.id = added->first;
  return added->second;
}

const user_record* user_table::find(std::string_view user_id) const {
  auto it = users_.find(as_key(user_id));
  return it == users_.end() ? nullptr : &it->second;
}

bool user_table::take_request_token(user_record& u) {
  if (requests_per_s_ <= 0) return true;
  int64_t now = clock_.now_ms();
  if (now > u.tokens_at_ms) {
    double refill = static_cast<double>(now - u.tokens_at_ms) *
                    static_cast<double>(requests_per_s_) / 1000.0;
    u.request_tokens = std::min<double>(limits::user_request_burst, u.request_tokens + refill);
    u.tokens_at_ms = now;
  }
  if (u.request_tokens < 1.0) return false;
  u.request_tokens -= 1.0;
  return true;
}

void user_table::enter(std::string_view user_id, caller who, turn_op op) {
  user_record& u = get(user_id);
  if (who == caller::customer && !take_request_token(u)) return op(std::nullopt);
  if (u.busy) {
    if (who != caller::internal && u.waiting.size() >= limits::user_requests_queued_max)
      return op(std::nullopt);
    u.waiting.push_back(std::move(op));
    return;
  }
  u.busy = true;
  ++users_busy_;
  op(user_turn(this, &u));
}

void user_table::with_user(std::string_view user_id, absl::AnyInvocable<void(user_turn)> op) {
  enter(user_id, caller::internal, [op = std::move(op)](std::optional<user_turn> turn) mutable {
    STAMPEDE_CHECK(turn.has_value());  // internal work is never refused
    op(std::move(*turn));
  });
}

void user_table::end_turn(user_record& u) {
  STAMPEDE_DCHECK(owner_.is_current());
  STAMPEDE_CHECK(u.busy);
  u.busy = false;
  --users_busy_;
  // A request that finishes at once ends its turn inside the loop below: it only marks the
  // user idle, and the loop starts the next (no recursion through a queue of 64).
  if (u.draining || closing_) return;
  u.draining = true;
  while (!u.busy && !u.waiting.empty() && !closing_) {
    auto next = std::move(u.waiting.front());
    u.waiting.pop_front();
    u.busy = true;
    ++users_busy_;
    next(user_turn(this, &u));
  }
  u.draining = false;
}

void user_table::set_hold_deadline(const std::string& user_id, int64_t old_ms, int64_t new_ms) {
  if (old_ms == new_ms) return;
  if (old_ms) hold_deadlines_.erase({old_ms, user_id});
  if (new_ms) hold_deadlines_.emplace(new_ms, user_id);
}

void user_table::replace_cart(std::string_view user_id, cart&& contents) {
  user_record& u = get(user_id);
  set_hold_deadline(u.id, u.basket.held_until_ms, contents.held_until_ms);
  carts_holding_ += (contents.held_until_ms != 0) - (u.basket.held_until_ms != 0);
  u.basket = std::move(contents);
}

void user_table::add_address(std::string_view user_id, const address& a) {
  get(user_id).addresses.push_back(a);
}

void user_table::delete_address(std::string_view user_id, std::string_view address_id) {
  std::erase_if(get(user_id).addresses, [&](const address& a) { return a.id == address_id; });
}

void user_table::add_notification(std::string_view user_id, notification&& n) {
  auto& inbox = get(user_id).notifications;
  inbox.push_back(std::move(n));
  while (inbox.size() > limits::notifications_per_user_max) inbox.pop_front();
}

void user_table::order_placed(const order& o) {
  user_record& u = get(o.user_id);
  replace_cart(u.id, cart{});
  u.order_ids.push_back(o.id);
  // A placed order is pending; one loaded from a snapshot may be in any status.
  if (holds_stock(o.status))
    for (const auto& item : o.items) u.ordered_units[item.product_id] += item.quantity;
}

void user_table::order_changed(const order& was, const order& now) {
  if (!holds_stock(was.status) || holds_stock(now.status)) return;
  user_record& u = get(now.user_id);
  for (const auto& item : was.items) u.ordered_units[item.product_id] -= item.quantity;
}

std::vector<std::string> user_table::take_lapsed_holds(int64_t now_ms) {
  std::vector<std::string> due;
  while (!hold_deadlines_.empty() && hold_deadlines_.begin()->first <= now_ms) {
    due.push_back(std::move(hold_deadlines_.begin()->second));
    hold_deadlines_.erase(hold_deadlines_.begin());
  }
  return due;
}

}  // namespace stampede
