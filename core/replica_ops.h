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

#include "core/effect.h"

namespace stampede {

class shard;

namespace replica_ops {

// Applies `e`, the record numbered `lsn` of this shard's log, and sends the product shards
// what it changes in their reserved and committed counts.
void apply(shard& s, effect&& e, uint64_t lsn);

}  // namespace replica_ops
}  // namespace stampede
