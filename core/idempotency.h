// Idempotency keys (API.md, "Idempotency"): the answers of requests that carried an
// Idempotency-Key, per user and route (the scope), kept limits::idempotency_retention_ms
// and logged, so a repeat gets the first answer again and nothing happens twice. A repeat
// with another body (another fingerprint) is a mismatch.
//
// Answers are kept compact: encoded (codec.h), never as structs, and an add to the cart
// logs no copy of the cart at all (idempotency_kept's cart_now: the answer is the cart
// recorded just before it). What one user may pin is bounded (limits: keys and bytes);
// past it a new key is refused, saying until when.
// Shard-local: only the owning shard's thread touches an idempotency_store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "core/codec.h"
#include "core/effect.h"
#include "core/errors.h"
#include "core/ids.h"
#include "core/reply.h"

namespace stampede {

// A key's scope names the route ("POST /v1/cart/items\n" + key), and its fingerprint the
// request's body as far as it decides the answer (never the card number).
struct idempotency_scope {
  std::string scope_key;
  uint64_t fingerprint = 0;
};
idempotency_scope add_item_scope(std::string_view key, std::string_view product_id,
                                 int64_t quantity);
idempotency_scope place_order_scope(std::string_view key, std::string_view shipping_address_id,
                                    std::string_view billing_address_id,
                                    std::string_view shipping_method);
idempotency_scope payment_scope(std::string_view key, std::string_view order_id,
                                std::string_view method, int64_t amount,
                                std::string_view card_last4, int64_t exp_month,
                                int64_t exp_year);

// The effects that keep an answer under a scope at now_ms: an add's (the cart just
// recorded), an order, a payment's.
idempotency_kept kept_cart_now(std::string_view user_id, const idempotency_scope& s,
                               int64_t now_ms);
idempotency_kept kept_answer(std::string_view user_id, const idempotency_scope& s,
                             int64_t now_ms, const order& answer);
idempotency_kept kept_answer(std::string_view user_id, const idempotency_scope& s,
                             int64_t now_ms, const payment_result& answer);
// An answer as logs before the compact form hold it, compact. REQUIRES: not cart_now.
idempotency_kept compact(idempotency_stored&& old);

class idempotency_store {
 public:
  struct entry {
    uint64_t fingerprint = 0;
    int64_t stored_at_ms = 0;
    answer_kind kind = answer_kind::cart;  // never cart_now: that is resolved when applied
    std::string answer;                    // codec.h
  };
  // What a keyed request finds: nothing (run it), its stored answer, a mismatch, or a user
  // who already pins as much as one may (`refusal` says what and until when).
  enum class verdict : uint8_t { run, replay, mismatch, full };
  struct lookup {
    verdict what = verdict::run;
    const entry* found = nullptr;
    std::optional<error> refusal;
  };
  lookup check(std::string_view user_id, const idempotency_scope& s, int64_t now_ms) const;

  // Effects (applied by the shard). REQUIRES: e.kind is not cart_now.
  void keep(idempotency_kept&& e);
  // Forgets keys older than the retention.
  void expire(int64_t now_ms);

  // What one user pins: keys, and bytes (answers, scopes and bookkeeping).
  std::pair<size_t, size_t> pinned_by(std::string_view user_id) const;
  template <class F>
  void for_each_of(std::string_view user_id, F&& f) const {
    auto it = users_.find(as_key(user_id));
    if (it == users_.end()) return;
    for (const auto& [scope_key, e] : it->second.keys) f(scope_key, e);
  }

 private:
  struct user_keys {
    absl::flat_hash_map<std::string, entry> keys;
    size_t bytes = 0;
  };
  static size_t cost(const std::string& scope_key, const entry& e);
  error full(const user_keys& u, int64_t now_ms) const;
  void forget(user_keys& u, absl::flat_hash_map<std::string, entry>::iterator it);

  absl::node_hash_map<std::string, user_keys> users_;
  absl::btree_set<std::tuple<int64_t, std::string, std::string>> by_time_;  // (at, user, scope)
};

// The stored answer, as the request answers it.
template <class T>
T stored_value(const idempotency_store::entry& e);
template <>
cart_view stored_value<cart_view>(const idempotency_store::entry& e);
template <>
order stored_value<order>(const idempotency_store::entry& e);
template <>
payment_result stored_value<payment_result>(const idempotency_store::entry& e);

// Answers `done` from a lookup that found something (the stored answer, a mismatch, or
// the refusal of a full key store) and returns true; false when the request must run.
// A stored answer goes when the first one could: once every record the shard has logged
// so far is durable (in a cluster, acknowledged by the stream), or at the end of the pass
// with --durability async. A repeat sent while the first request waits for its records
// would otherwise be told "done" of a change a crash or a takeover could still lose
// (API.md: a repeat "waits for it and gets its answer"). `s` is the shard (when_answerable).
template <class T, class Shard>
bool answered_from(Shard& s, const idempotency_store::lookup& l, reply<idempotent<T>>& done) {
  switch (l.what) {
    case idempotency_store::verdict::run:
      return false;
    case idempotency_store::verdict::replay:
      s.when_answerable([value = stored_value<T>(*l.found), done = std::move(done)]() mutable {
        done(idempotent<T>{std::move(value), true});
      });
      return true;
    case idempotency_store::verdict::mismatch:
      done(make_error(error_code::idempotency_mismatch,
                      "this Idempotency-Key was used with another request"));
      return true;
    case idempotency_store::verdict::full:
      done(*l.refusal);
      return true;
  }
  return false;
}

}  // namespace stampede
