// Idempotency keys (API.md, "Idempotency"): the answers of requests that carried an
// Idempotency-Key, per user and route (the scope), kept limits::idempotency_retention_ms
// and logged (idempotency_stored), so a repeat gets the first answer again and nothing
// happens twice. A repeat with another body (another fingerprint) is a mismatch.
// Shard-local: only the owning shard's thread touches an idempotency_store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "core/effect.h"
#include "core/errors.h"
#include "core/ids.h"
#include "core/reply.h"

namespace stampede {

// What a key keeps: the answer as the engine gave it (server/ renders it again, byte for byte).
using stored_answer = decltype(idempotency_stored::answer);

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

// The effect that stores `answer` under a scope, at now_ms.
inline idempotency_stored stored_answer_effect(std::string_view user_id,
                                               const idempotency_scope& s, int64_t now_ms,
                                               stored_answer answer) {
  return idempotency_stored{std::string(user_id), s.scope_key, s.fingerprint, now_ms,
                            std::move(answer)};
}

class idempotency_store {
 public:
  struct entry {
    uint64_t fingerprint = 0;
    int64_t stored_at_ms = 0;
    stored_answer answer;
  };
  // What a keyed request finds: nothing (run it), its stored answer, a mismatch, or a user
  // who already holds as many keys as one may.
  enum class verdict : uint8_t { run, replay, mismatch, full };
  struct lookup {
    verdict what = verdict::run;
    const entry* found = nullptr;
  };
  lookup check(std::string_view user_id, const idempotency_scope& s, int64_t now_ms) const;

  // Effects (applied by the shard).
  void store(std::string user_id, std::string scope_key, entry e);
  // Forgets keys older than the retention.
  void expire(int64_t now_ms);

  template <class F>
  void for_each_of(std::string_view user_id, F&& f) const {
    auto it = users_.find(as_key(user_id));
    if (it == users_.end()) return;
    for (const auto& [scope_key, e] : it->second) f(scope_key, e);
  }

 private:
  using keys = absl::flat_hash_map<std::string, entry>;
  absl::node_hash_map<std::string, keys> users_;
  absl::btree_set<std::tuple<int64_t, std::string, std::string>> by_time_;  // (at, user, scope)
};

// Answers `done` from a lookup that found something (the stored answer, a mismatch, or
// the refusal of a full key store) and returns true; false when the request must run.
template <class T>
bool answered_from(const idempotency_store::lookup& l, reply<idempotent<T>>& done) {
  switch (l.what) {
    case idempotency_store::verdict::run:
      return false;
    case idempotency_store::verdict::replay:
      done(idempotent<T>{std::get<T>(l.found->answer), true});
      return true;
    case idempotency_store::verdict::mismatch:
      done(make_error(error_code::idempotency_mismatch,
                      "this Idempotency-Key was used with another request"));
      return true;
    case idempotency_store::verdict::full:
      done(make_error(error_code::rate_limited, "too many requests for this user in flight"));
      return true;
  }
  return false;
}

}  // namespace stampede
