// Drops on a product's shard: a drop claims the product (refused while another open drop
// has it) and lets it go; the drop hears of the product's supply each tick it changed; the
// product's waitlist (join, place, leave) is offered the units that come back, each tick,
// first come first served, by putting them in the next person's cart on their shard; and
// at recovery the limits across accounts are counted again from the live orders.
// Shard-local: call on the product's shard.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/drop_types.h"
#include "core/drop_admission.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace drop_product_ops {

// The product's supply for the drop's first figures, or why it may not join the drop
// (no such product: invalid_request naming product_ids; another open drop has it: conflict).
result<product_supply> claim(shard& s, const std::string& product_id, const drop_claim& c);
// Drop `drop_id` no longer holds the product (closed, or its creation failed).
void unclaim(shard& s, const std::string& product_id, const std::string& drop_id);
// Drop `drop_id` sold out: units that come back go to the product's waitlist.
void mark_sold_out(shard& s, const std::string& product_id, const std::string& drop_id);

void join_waitlist(shard& s, std::string product_id, std::string user_id, int64_t quantity,
                   reply<created<waitlist_place>> done);
void waitlist_place_of(shard& s, std::string product_id, std::string user_id,
                       reply<waitlist_place> done);
void leave_waitlist(shard& s, std::string product_id, std::string user_id, reply<ok_t> done);
// The user's shard answered an offer (nullopt: the units are in the cart).
void offer_answered(shard& s, const std::string& product_id, const std::string& user_id,
                    std::optional<error_code> refused);

// Timer: each claimed product's supply to its drop when it changed; units back in stock to
// the waitlists.
void tick(shard& s);

// Recovery, before the shards run: the counts of the limits across accounts from every
// shard's live orders (read-only), and offers in flight made again at the first tick.
void restore(shard& s, const std::vector<const shard*>& all);

// A takeover, while the shards run (replication_node::become_primary): a standby applied
// the orders but never counted them. limit_units_of, on any shard: what its live orders
// count, product by product; recount, on each shard: its products' counts from every
// shard's list, as restore does.
struct limit_units {
  std::string product_id;
  std::string address;  // address_key of the shipping address
  std::vector<std::string> cards;
  int64_t quantity = 0;
};
std::vector<limit_units> limit_units_of(const shard& s);
void recount(shard& s, const std::vector<std::vector<limit_units>>& all);

}  // namespace drop_product_ops
}  // namespace stampede
