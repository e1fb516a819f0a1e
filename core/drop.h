// One drop: its definition, seed and status, its queue or its draw, and the rules that move
// them (join, leave, admit, expire, open, draw, sell out, pause, close). Pure and
// deterministic: every rule takes the time from its caller and changes nothing itself; it
// hands the effects it decides to `emit`, which must record and apply them (apply()) before
// it returns, so the next step of a rule sees them. What the drop knows of its products'
// stock (on_supply) and who looks at a ticket are not state.
// Shard-local: only the drop's shard thread (hash(drop id)) calls a drop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "core/drop_admission.h"
#include "core/crypto.h"
#include "core/drop_draw.h"
#include "core/drop_effects.h"
#include "core/drop_queue.h"
#include "core/errors.h"

namespace stampede {

using drop_emit = absl::FunctionRef<void(drop_effect&&)>;

// GET /v1/drops/{id}, and the admin view's counts.
struct drop_view {
  drop_definition definition;
  drop_state state = drop_state::scheduled;
  bool paused = false;
  std::string seed_sha256;          // lowercase hex, published at creation
  std::optional<std::string> seed;  // lowercase hex, once the shuffle or draw is done
  int64_t created_at_ms = 0;
  int64_t waiting = 0;                                                         // now
  int64_t admitted = 0, converted = 0, expired = 0, entries = 0, winners = 0;  // since creation
};

// What a tick decided that other shards must hear of.
struct drop_tick_outcome {
  std::vector<std::string> admitted;        // tell each: drop.admitted, with the token
  std::vector<std::string> grants;          // draw: place one unit of each product in their cart
  std::vector<std::string> holds_to_check;  // draw: has this winner's hold lapsed unordered?
  bool sold_out_now = false;                // every waiting ticket turned sold_out
  bool opened_now = false;                  // the pre-queue was placed, the seed revealed
};

class drop {
 public:
  // REQUIRES: `seed` is limits::drop_seed_bytes raw bytes.
  drop(drop_definition definition, std::string seed, int64_t created_at_ms);
  drop(const drop&) = delete;
  drop& operator=(const drop&) = delete;

  const drop_definition& definition() const { return definition_; }
  const std::string& id() const { return definition_.id; }
  const drop_status& status() const { return status_; }
  drop_state state(int64_t now_ms) const;
  drop_view view(int64_t now_ms) const;
  // The seed's hash and, once revealed, the seed (lowercase hex).
  std::string seed_sha256_hex() const;
  std::optional<std::string> revealed_seed_hex() const;
  bool closed() const { return status_.closed; }

  // Product stock as the product shards last told it (not state; unknown after a restart).
  void on_supply(std::string_view product_id, const product_supply& s);
  const std::vector<product_supply>& supply() const { return supply_; }

  // ---- Queue ----
  // A ticket, new (true) or the one the user has (false). Joins are refused for a draw
  // (conflict), a closed drop (sale_ended), a sold-out drop (sold_out), a full queue.
  result<bool> join(const std::string& user_id, int64_t now_ms, drop_emit emit);
  result<ok_t> leave(const std::string& user_id, drop_emit emit);
  // The ticket as the user sees it now: a read counts as seeing it.
  result<ticket_view> ticket(const std::string& user_id, int64_t now_ms,
                             const admission_signer& signer);
  // The user's first add with the admission token: they hold something now.
  void admission_used(const std::string& user_id, drop_emit emit);
  // The user placed an order with one of the drop's products.
  void converted(const std::string& user_id, drop_emit emit);
  // Not state: a WebSocket connection starts (+1) or stops (-1) watching the user's ticket.
  void watch(const std::string& user_id, int delta, int64_t now_ms);
  // The watched tickets whose view changed since it was last sent (all of them, or only
  // `users`'), with the view to send now. Each view sent counts as read.
  std::vector<std::pair<std::string, ticket_view>> pushes(
      int64_t now_ms, const admission_signer& signer, const std::vector<std::string>* users);
  // When the last push of every watched ticket went out (a second apart at most).
  int64_t last_push_ms() const { return last_push_ms_; }

  // ---- Draw ----
  // An entry, new (true) or the one the user has (false); refused outside the window.
  result<bool> enter(const std::string& user_id, int64_t now_ms, drop_emit emit);
  result<entry_view> entry(const std::string& user_id) const;
  // A winner's hold was placed (until held_until_ms) or refused (`out_of_stock`: the entry
  // waits at its rank for a unit; any other refusal: it lost).
  void grant_answered(const std::string& user_id, result<int64_t> held_until_ms, drop_emit emit);
  // A winner's hold checked at its deadline: ordered, still held (a later deadline), or
  // lapsed unordered (lost: the units go to the next rank).
  enum class hold_outcome : uint8_t { ordered, held, lapsed };
  void hold_checked(const std::string& user_id, hold_outcome outcome, int64_t held_until_ms,
                    drop_emit emit);

  // ---- Admin ----
  void pause(drop_emit emit);
  void resume(drop_emit emit);
  void close(drop_emit emit);

  // ---- The clock ----
  // Opens, draws, expires, sells out and admits, as due at now_ms.
  drop_tick_outcome tick(int64_t now_ms, drop_emit emit);
  // After a restart: tickets count as seen now, and picks in flight are placed again.
  void restored(int64_t now_ms);

  // An effect naming this drop, as the log holds it.
  void apply(const drop_effect& e);
  // The effects that rebuild this drop from nothing (a snapshot's unit).
  void capture(drop_emit out) const;

  const drop_queue& queue() const { return queue_; }
  const drop_draw& draw() const { return draw_; }

 private:
  void set_status(drop_emit emit, absl::FunctionRef<void(drop_status&)> change);
  bool nothing_left() const;  // every product known, none available
  bool nothing_held() const;  // every product known, none reserved
  void open_queue(drop_emit emit);
  int64_t expire_tickets(int64_t now_ms, drop_emit emit);
  std::vector<std::string> admit(int64_t now_ms, drop_emit emit);
  void run_draw(drop_emit emit);
  std::vector<std::string> pick_winners(drop_emit emit);
  std::vector<std::string> holds_due(int64_t now_ms);
  void take_supply_for_win();

  const drop_definition definition_;
  const std::string seed_;
  const int64_t created_at_ms_;
  hmac_key rank_key_;  // HMAC-SHA256 keyed with the seed: ranks users
  drop_status status_;
  drop_queue queue_;
  drop_draw draw_;
  // Not state.
  std::vector<product_supply> supply_;  // in definition_.product_ids order
  // First adds since the supply was last heard: it may not show their units yet, so they
  // still count as unused admissions until it does (or drop_supply_lag_ms_max passed).
  int64_t uses_unheard_ = 0;
  int64_t uses_unheard_since_ms_ = 0;
  admission_history admissions_;
  absl::flat_hash_set<std::string> checking_;  // winners whose hold is being checked
  bool resend_grants_ = false;                 // after a restart: picks in flight again
  struct watched {
    int32_t connections = 0;
    std::optional<ticket_view> sent;  // the view the watchers have
  };
  absl::flat_hash_map<std::string, watched> watched_;
  int64_t last_push_ms_ = 0;
};

}  // namespace stampede
