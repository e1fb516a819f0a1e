// The live-update topic grammar (API.md, "WebSocket"), parsed in this one place: as a client
// names a topic, and as the key under which owners count watchers and hubs fan out.
//   client name         key                    owner shard(s)
//   product:<id>        product:<id>           the product's
//   order:<id>          order:<id>             the order's (named in its id)
//   orders              orders:<user>          the user's
//   admin:orders        admin:orders           every shard
//   queue:<drop>        queue:<drop>:<user>    the drop's (its ticket for that user)
//   admin:stats         admin:stats            every shard
// Pure functions: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stampede {

enum class topic_kind : uint8_t { product, order, orders, admin_orders, queue, admin_stats };

struct topic {
  topic_kind kind = topic_kind::product;
  std::string id;    // product id, order id, drop id; empty otherwise
  std::string user;  // orders, queue: whose
  bool operator==(const topic&) const = default;
};

// A key as owners and hubs use it ("orders:alice"); nullopt if it is not one.
std::optional<topic> parse_topic_key(std::string_view key);
std::string topic_key(const topic& t);

// What a client may get wrong when naming a topic.
enum class topic_refusal : uint8_t {
  unknown,        // not a topic of the grammar, or a malformed id: not_found
  needs_token,    // orders, order:, queue: without a signed-in user: unauthorized
  needs_admin,    // admin:*: forbidden
};
struct client_topic {
  std::optional<topic> parsed;
  topic_refusal refusal = topic_refusal::unknown;  // when !parsed
};
// A topic as a client names it; `requester` is the signed-in user ("" for none).
client_topic parse_client_topic(std::string_view name, std::string_view requester, bool admin);

// Needs the owner to hold the requester's rights (an order, a ticket) rather than anyone's.
inline bool topic_is_public(const topic& t) { return t.kind == topic_kind::product; }

}  // namespace stampede
