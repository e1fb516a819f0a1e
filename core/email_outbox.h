// Order email on one shard: the durable outbox of mails for this shard's orders, oldest
// first, each kept until the mail server takes it or it is given up on (then done()
// records that like any change). server/email/deliverer.h sends them from this shard's
// own io_context through the mailer thread, whose outcomes come back to it as posts.
// Shard-local: only the owning shard's thread (DCHECKed on entry).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "core/effect.h"
#include "core/owner_thread.h"

namespace stampede {

class email_outbox {
 public:
  using key = std::pair<int64_t, std::string>;  // (created, event)

  email_outbox(const owner_thread& owner, effect_recorder& recorder)
      : owner_(owner), recorder_(recorder) {}

  const absl::btree_map<key, email_entry>& mails() const;
  // Bumped whenever a mail is queued, so a deliverer knows when to look again.
  uint64_t arrivals() const { return arrivals_; }
  // Mails dropped because the outbox was full (limits::email_outbox_max).
  uint64_t dropped() const { return dropped_; }
  // False on a replication follower: its primary sends (and records) the mail.
  bool active() const { return recorder_.records(); }
  // Sent, or given up on: it leaves the outbox (recorded).
  void done(const key& k);

  // Effects (applied by the shard).
  void queue(email_entry&& entry);
  void remove(const key& k);

 private:
  const owner_thread& owner_;
  effect_recorder& recorder_;
  absl::btree_map<key, email_entry> mails_;  // oldest first
  uint64_t arrivals_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace stampede
