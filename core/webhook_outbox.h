// Outbound webhooks on one shard: the registrations (every shard keeps the same list) and
// the durable outbox of this shard's order events, oldest first, each kept until its
// receiver acknowledges it or it is given up on. server/webhook_client.h delivers them
// from this shard's own io_context; done() records the acknowledgement like any change.
// Shard-local: only the owning shard's thread (DCHECKed on entry).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "core/effect.h"
#include "core/owner_thread.h"
#include "core/webhook.h"

namespace stampede {

class webhook_outbox {
 public:
  using key = std::tuple<int64_t, std::string, std::string>;  // (created, event, webhook)

  webhook_outbox(const owner_thread& owner, effect_recorder& recorder)
      : owner_(owner), recorder_(recorder) {}

  const std::vector<webhook>& registrations() const;
  const absl::btree_map<key, outbox_entry>& events() const;
  // Bumped whenever an event is queued, so a deliverer knows when to look again.
  uint64_t arrivals() const { return arrivals_; }
  // Events dropped because the outbox was full (limits::webhook_outbox_max).
  uint64_t dropped() const { return dropped_; }
  // The receiver acknowledged it, or it was given up on: it leaves the outbox (recorded).
  void done(const key& k);
  // Whether this shard's events are delivered from here: not on a replication follower,
  // whose primary delivers them (and records their acknowledgements).
  bool active() const { return recorder_.records(); }

  // Effects (applied by the shard).
  void replace(std::vector<webhook>&& list);
  void queue(outbox_entry&& entry);
  void remove(const key& k);

 private:
  const owner_thread& owner_;
  effect_recorder& recorder_;
  std::vector<webhook> webhooks_;
  absl::btree_map<key, outbox_entry> events_;  // oldest first
  uint64_t arrivals_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace stampede
