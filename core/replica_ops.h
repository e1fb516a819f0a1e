// A standby's (or read replica's) side of replication: a record of the primary's log,
// applied as recovery replays one, and the products' reserved and committed kept as the
// primary's are. Those counts are not in the log (recovery rebuilds them from carts and
// orders), so the user shard works out what each record changes in its user's claims (units
// held in the cart, units in live orders) and tells the product shards. Counts on a
// follower may briefly lead or lag across shards (each shard's stream is followed on its
// own), never below zero; available stays clamped at zero; a takeover rebuilds them exactly.
// Shard-local: the shard's own thread (a shard_task).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/effect.h"

namespace stampede {

class shard;

namespace replica_ops {

// Per product: units held by a user's cart and units in the user's live orders.
struct claim {
  int64_t held = 0;
  int64_t ordered = 0;
};

// Claims that reached a product's shard before the product did (each shard's stream is
// followed on its own, so a cart's record may be applied before its product's record):
// kept there, and added to the counts when the product's record is applied. (Retrying on
// the shard's io_context instead livelocked the shard: io_context::poll() runs what its
// handlers post, so the loop never drained the mailbox that held the product's record, and
// a rebuilt or restarted node stayed `starting`.) Bounded by the products the streams hold:
// one entry per product, its deltas summed. One per follower engine, made before its shards
// run; shard i's entry is touched only on shard i's thread.
class waiting_claims {
 public:
  explicit waiting_claims(uint32_t shards = 0) : by_shard_(shards) {}
  // On `owner`'s thread: adds `delta` to the product's counts, or keeps it until the
  // product is there.
  void add(shard& owner, const std::string& product_id, claim delta);
  // On `owner`'s thread, once the product's record is applied: adds what waited for it.
  void arrived(shard& owner, const std::string& product_id);
  // On shard i's thread: forgets its claims (a takeover recomputes every count).
  void clear(uint32_t shard) { by_shard_[shard].clear(); }
  size_t waiting(uint32_t shard) const { return by_shard_[shard].size(); }

 private:
  std::vector<absl::flat_hash_map<std::string, claim>> by_shard_;
};

// Applies `e`, the record numbered `lsn` of this shard's log, and sends the product shards
// what it changes in their reserved and committed counts (through `waiting`, which must
// outlive the tasks it sends: the engine's life).
void apply(shard& s, effect&& e, uint64_t lsn, waiting_claims& waiting);

}  // namespace replica_ops
}  // namespace stampede
