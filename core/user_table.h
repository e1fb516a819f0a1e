// The users a shard owns, and their turns. Each user's record (cart, addresses, order ids,
// units in live orders, notifications) changes only by the effects applied here. A user's
// requests run one at a time: with_user() hands the request a user_turn, and the user's
// next request starts when that turn is destroyed, so no code path can forget to end it.
// Also the per-user rate limit (a token bucket) and the hold deadlines of carts.
// Shard-local: only the owning shard's thread (owner_thread) touches a user_table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "core/address.h"
#include "core/cart.h"
#include "core/clock.h"
#include "core/lazy_deque.h"
#include "core/limits.h"
#include "core/order.h"
#include "core/owner_thread.h"
#include "core/reply.h"

namespace stampede {

class user_turn;
class user_table;

struct user_record {
  std::string id;
  cart basket;
  std::vector<address> addresses;
  std::vector<std::string> order_ids;                       // oldest first
  absl::flat_hash_map<std::string, int64_t> ordered_units;  // product -> units, live orders
  lazy_deque<notification> notifications;                   // oldest first

  // Units of a product in the user's live orders, and those plus the cart's.
  int64_t units_in_orders(std::string_view product_id) const;
  int64_t units_already(std::string_view product_id) const {
    return units_in_orders(product_id) + basket.units_of(product_id);
  }

 private:
  friend class user_table;
  friend class user_turn;
  // Turn state: not logged, not in snapshots.
  bool busy = false;
  bool draining = false;  // end_turn's loop runs; a nested end only marks the user idle
  double request_tokens = limits::user_request_burst;
  int64_t tokens_at_ms = 0;
  lazy_deque<absl::AnyInvocable<void(std::optional<user_turn>)>> waiting;
};

// Who a user request comes from: the user (rate-limited and queue-bounded), staff (an
// admin or the gateway acting on the user's order: queue-bounded), or the engine itself
// (timers: never refused).
enum class caller : uint8_t { customer, staff, internal };

// The right to touch one user's record until destroyed. Move-only; move it into the
// continuation that finishes the request (a stock answer, a gateway outcome). Destroyed on
// the shard's thread: that starts the user's next waiting request.
class user_turn {
 public:
  user_turn(user_turn&& other) noexcept
      : table_(std::exchange(other.table_, nullptr)), user_(other.user_) {}
  user_turn& operator=(user_turn&&) = delete;
  user_turn(const user_turn&) = delete;
  ~user_turn();

  user_record& user() const { return *user_; }
  user_record* operator->() const { return user_; }

 private:
  friend class user_table;
  user_turn(user_table* table, user_record* user) : table_(table), user_(user) {}
  user_table* table_;
  user_record* user_;
};

class user_table {
 public:
  using turn_op = absl::AnyInvocable<void(std::optional<user_turn>)>;  // nullopt: refused

  user_table(const owner_thread& owner, const clock& time, int64_t requests_per_s)
      : owner_(owner), clock_(time), requests_per_s_(requests_per_s) {}
  user_table(const user_table&) = delete;
  ~user_table();

  // Runs op(turn) now if the user is idle, else once the requests ahead of it are done.
  // A customer over the rate limit, or a customer or staff request finding the user's
  // queue full, is answered rate_limited (never queued, nothing changes).
  template <class T, class Op>
  void with_user(std::string_view user_id, caller who, reply<T> done, Op op) {
    enter(user_id, who, [done = std::move(done), op = std::move(op)](
                            std::optional<user_turn> turn) mutable {
      if (!turn) return done(refusal());
      op(std::move(*turn), std::move(done));
    });
  }
  // The engine's own work on a user (a hold lapsing, a payment deadline): never refused.
  void with_user(std::string_view user_id, absl::AnyInvocable<void(user_turn)> op);
  static error refusal();

  // Shutdown: turns that end from now on start nothing more.
  void close() { closing_ = true; }

  // Lookups. The record of a user who never did anything is created on first use. Records
  // are never erased and the map is node-based, so a user_record& stays valid for the
  // table's life (turns and continuations keep one).
  user_record& get(std::string_view user_id);
  const user_record* find(std::string_view user_id) const;
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [id, u] : users_) f(u);
  }
  void reserve(size_t users) { users_.reserve(users); }
  int64_t carts_holding() const { return carts_holding_; }
  // Users whose turn is taken: a request or the engine's own work on them is under way
  // (and may still move stock once what it waits for comes back).
  int64_t users_busy() const { return users_busy_; }

  // Effects (applied by the shard).
  void replace_cart(std::string_view user_id, cart&& contents);
  void add_address(std::string_view user_id, const address& a);
  void delete_address(std::string_view user_id, std::string_view address_id);
  void add_notification(std::string_view user_id, notification&& n);
  // An order placed empties the cart; its units count toward the limit while it is live.
  void order_placed(const order& o);
  void order_changed(const order& was, const order& now);

  // Users whose holds lapse at or before now, each once (their deadline is forgotten).
  std::vector<std::string> take_lapsed_holds(int64_t now_ms);

 private:
  friend class user_turn;
  void enter(std::string_view user_id, caller who, turn_op op);
  bool take_request_token(user_record& u);
  void end_turn(user_record& u);
  void set_hold_deadline(const std::string& user_id, int64_t old_ms, int64_t new_ms);

  const owner_thread& owner_;
  const clock& clock_;
  const int64_t requests_per_s_;  // 0: no rate limit
  bool closing_ = false;
  absl::node_hash_map<std::string, user_record> users_;
  absl::btree_set<std::pair<int64_t, std::string>> hold_deadlines_;  // (ms, user)
  int64_t carts_holding_ = 0;
  int64_t users_busy_ = 0;
};

}  // namespace stampede
