// Address book operations on the user's shard (API.md, "Addresses and shipping").
// Shard-local: call on the user's shard thread (engine.cc gets there).
#pragma once

#include <string>
#include <vector>

#include "core/address.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace address_ops {

void list_addresses(shard& s, const std::string& user_id, reply<std::vector<address>> done);
// Assigns the id; at most limits::addresses_per_user_max per user.
void add_address(shard& s, const std::string& user_id, address a, reply<address> done);
void delete_address(shard& s, const std::string& user_id, std::string address_id,
                    reply<ok_t> done);

}  // namespace address_ops
}  // namespace stampede
