// A drop's queue: its tickets (one a user) and the indexes that answer the questions the
// drop asks of them in O(log n): a ticket's place and how many wait ahead of it, the head
// of the line, the pre-queue in HMAC order, tickets not seen for too long, admissions not
// used in time. Tickets change only through apply() and remove(), with the values the
// log holds; seen times, watchers and the estimates last shown are not state (a restart
// counts every ticket as seen at that instant). Shard-local: the drop's shard thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "core/crypto.h"
#include "core/drop_line.h"
#include "core/drop_types.h"

namespace stampede {

class drop_queue {
 public:
  // `rank_key`: HMAC keyed with the drop's seed; outlives the queue.
  explicit drop_queue(const hmac_key& rank_key) : rank_key_(rank_key) {}

  const drop_ticket* find(std::string_view user_id) const;
  size_t size() const { return tickets_.size(); }
  // Waiting tickets: placed ones in the line, and the pre-queue.
  int64_t waiting() const { return line_.count() + static_cast<int64_t>(prequeue_.size()); }
  // Admitted shoppers who hold nothing yet.
  int64_t unused_admissions() const { return static_cast<int64_t>(unused_.size()); }
  // The place a ticket that joins now would get.
  int64_t next_place() const { return line_.size() + 1; }
  // Waiting tickets placed before `place`.
  int64_t ahead_of(int64_t place) const { return line_.count_before(place); }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& [user, s] : tickets_) f(s.ticket);
  }

  // The ticket as it now is (new or changed), with the values the log holds.
  void apply(const drop_ticket& t);
  void remove(std::string_view user_id);

  // The pre-queue (waiting, not yet placed) ordered by HMAC-SHA256(seed, user id), ascending.
  std::vector<std::string> prequeue_in_rank_order() const;
  // Up to n waiting, placed tickets from the head of the line, in order.
  std::vector<std::string> head(int64_t n) const;
  // Every waiting ticket, placed ones in order then the pre-queue.
  std::vector<std::string> all_waiting() const;
  // Waiting tickets not seen since before now - unseen_ttl, and admissions still unused at
  // their deadline; at most `max` of each, oldest first.
  std::vector<std::string> unseen_since(int64_t before_ms, size_t max) const;
  std::vector<std::string> admissions_lapsed(int64_t now_ms, size_t max) const;

  // Not state: a poll or a WebSocket watcher sees the ticket.
  void touch(std::string_view user_id, int64_t now_ms);
  void watch(std::string_view user_id, int delta, int64_t now_ms);
  // After a restart: every waiting ticket counts as seen now.
  void seen_all(int64_t now_ms);

  // The estimate to show a ticket that has `ahead` waiting in front at an admission rate of
  // `per_s` (0: unknown), never above the last one shown unless a pause came between.
  std::optional<int64_t> estimate(std::string_view user_id, int64_t ahead, double per_s,
                                  int64_t pauses);

 private:
  using timed = std::pair<int64_t, uint64_t>;  // (ms, slot seq)
  struct slot {
    drop_ticket ticket;
    sha256_digest rank{};  // HMAC(seed, user id), for the pre-queue
    bool ranked = false;
    uint64_t seq = 0;  // names the slot in the time indexes (cheaper to compare than a user id)
    int64_t seen_ms = 0;
    std::optional<int64_t> eta_shown_s;
    int64_t eta_pauses = 0;
  };
  std::vector<std::string> users_of(const absl::btree_set<timed>& set, int64_t up_to_ms,
                                    size_t max) const;
  void index(slot& s);
  void unindex(const slot& s);
  static bool in_prequeue(const drop_ticket& t) {
    return t.state == ticket_state::waiting && t.place == 0;
  }
  static bool in_line(const drop_ticket& t) {
    return t.state == ticket_state::waiting && t.place > 0;
  }
  static bool unused_admission(const drop_ticket& t) {
    return t.state == ticket_state::admitted && !t.used;
  }

  const hmac_key& rank_key_;
  absl::node_hash_map<std::string, slot> tickets_;
  drop_line line_;                        // waiting, placed tickets by place
  std::vector<std::string> place_users_;  // place - 1 -> the user placed there
  absl::btree_set<std::pair<sha256_digest, std::string>> prequeue_;
  absl::btree_set<timed> unseen_;                // waiting, unwatched: (seen, seq)
  absl::btree_set<timed> unused_;                // admitted, unused: (until, seq)
  std::vector<const std::string*> user_of_seq_;  // seq -> the slot's key (node: stable)
  // Connections watching each user's ticket (a user may watch before joining).
  absl::flat_hash_map<std::string, int32_t> watchers_;
};

}  // namespace stampede
