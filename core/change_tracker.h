// Which units of a shard's state changed since the last snapshot took them, and the
// snapshot round in progress. A round starts at a log position and copies every unit
// changed before it, a bounded chunk per turn of the shard's loop; a unit about to change
// before the round took it is taken first (copy-on-write), so the round is the state right
// after that position. Units: a product (with its waitlist), a user with everything of
// theirs, a drop, the shipping methods, the webhook registrations, the webhook outbox,
// the email outbox (snapshot_unit in effect.h).
// Shard-local: only the owning shard's thread touches a change_tracker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "core/effect.h"

namespace stampede {

// The first byte of a snapshot unit's key; the id follows.
enum class unit_kind : char {
  product = 'p',
  user = 'u',
  shipping = 's',
  webhooks = 'w',
  outbox = 'x',
  drop = 'd',  // a drop with its tickets and entries
  mail = 'm',  // the email outbox
};

class change_tracker {
 public:
  // Copies one unit as it is now (the shard's snapshot_capture.cc).
  using capture_fn = absl::FunctionRef<snapshot_unit(unit_kind, const std::string& id)>;

  // Before `e` applies: marks the unit it changes, first taking it for a round that still
  // needs it.
  void note(const effect& e, capture_fn capture);
  // Recovery: what a snapshot loaded has not changed since.
  void forget();
  void reserve(size_t units) { users_.reserve(units); }

  // A round: begin() (false while one runs), start() once the shard's state is all
  // applied up to `lsn`, step() until it returns true, then finish().
  bool begin(snapshot_sink* sink);
  bool running() const { return run_ != nullptr; }
  bool started() const { return run_ && run_->started; }
  void start(uint64_t lsn);
  // Takes up to `budget` units and hands them to the sink; true when all are taken.
  bool step(uint32_t shard, size_t budget, capture_fn capture);
  // Ends the round: the sink and the position it covers.
  std::pair<snapshot_sink*, uint64_t> finish();

 private:
  struct round {
    snapshot_sink* sink = nullptr;
    bool started = false;
    uint64_t lsn = 0;
    // The units changed before the position, taken in turn by a cursor each (erasing from
    // the front of a flat set would rescan its emptied slots: quadratic), and those taken
    // early because they were about to change. Nothing is inserted while a round runs, so
    // the cursors stay valid.
    absl::flat_hash_set<std::string> users, products, drops;
    absl::flat_hash_set<std::string>::const_iterator next_user, next_product, next_drop;
    absl::flat_hash_set<std::string> taken_early;  // kind + id
    bool shipping = false;
    bool webhooks = false;
    bool outbox = false;
    bool mail = false;
    std::vector<snapshot_unit> chunk;
  };
  bool* whole_unit_flag(round& r, unit_kind kind);
  // The changed ids of a kind that has them (product, user, drop), and a round's cursor.
  absl::flat_hash_set<std::string>& ids_of(round& r, unit_kind kind);
  absl::flat_hash_set<std::string>::const_iterator& cursor_of(round& r, unit_kind kind);

  absl::flat_hash_set<std::string> users_, products_, drops_;
  bool shipping_ = false;
  bool webhooks_ = false;
  bool outbox_ = false;
  bool mail_ = false;
  std::unique_ptr<round> run_;
};

}  // namespace stampede
