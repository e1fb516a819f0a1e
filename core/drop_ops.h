// Drops on the drop's shard (API.md, "Drops"): creation (the products claimed on their
// shards first, a product in at most one open drop), the views, pause, resume and close,
// queue tickets, draw entries, watching a ticket; what other shards tell a drop (its
// products' supply, a shopper's first add, an order, a winner's hold); and each tick the
// drops' clocks, with what they decide sent where it belongs: admissions and wins to the
// users' shards, sold out to the products' shards, tickets to their watchers.
// Shard-local: call on the drop's shard (engine.cc gets there; other shards post tasks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/drop.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace drop_ops {

void create_drop(shard& s, drop_definition d, reply<drop_view> done);
void get_drop(shard& s, std::string drop_id, reply<drop_view> done);
void command(shard& s, std::string drop_id, drop_command what, reply<drop_view> done);

void join_queue(shard& s, std::string drop_id, std::string user_id,
                reply<created<ticket_view>> done);
void get_ticket(shard& s, std::string drop_id, std::string user_id, reply<ticket_view> done);
void leave_queue(shard& s, std::string drop_id, std::string user_id, reply<ok_t> done);
void enter_draw(shard& s, std::string drop_id, std::string user_id,
                reply<created<entry_view>> done);
void get_entry(shard& s, std::string drop_id, std::string user_id, reply<entry_view> done);

// A connection starts watching the user's ticket (queue:<drop>:<user>): the ticket now, or
// nullopt before the user joins; not_found for no such drop. unwatch: it stopped.
result<std::optional<ticket_view>> watch(shard& s, const std::string& drop_id,
                                         const std::string& user_id);
void unwatch(shard& s, const std::string& drop_id, const std::string& user_id);

// From other shards.
void supply(shard& s, const std::string& drop_id, const std::string& product_id,
            const product_supply& now);
void admission_used(shard& s, const std::string& drop_id, const std::string& user_id);
void converted(shard& s, const std::string& drop_id, const std::string& user_id);
void grant_answered(shard& s, const std::string& drop_id, const std::string& user_id,
                    result<int64_t> held_until_ms);
void hold_checked(shard& s, const std::string& drop_id, const std::string& user_id,
                  drop::hold_outcome outcome, int64_t held_until_ms);

// Timer: every drop's clock, and what it decided, sent on.
void tick(shard& s, int64_t now_ms);

// Recovery, before the shards run: this shard's products' claims and every drop's
// restart, from the drops of every shard (read-only).
void restore_claims(shard& s, const std::vector<const shard*>& all);
void restore_drops(shard& s);

// A takeover, while the shards run (replication_node::become_primary): a standby applied
// the drops' records, but the claims on their products (which keep a drop's products to
// its admitted shoppers) are not records, and its tickets were seen on the old primary.
// claims_of, on any shard: its open drops' claims; take_over, on each shard with every
// shard's claims: what restore_claims and restore_drops do at a restart.
using claim_list = std::vector<std::pair<std::string, drop_claim>>;
claim_list claims_of(const shard& s);
void take_over(shard& s, const std::vector<claim_list>& all);

}  // namespace drop_ops
}  // namespace stampede
