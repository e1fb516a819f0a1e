// Outbound webhooks (API.md, "Notifications"): the registrations every shard keeps a copy
// of, and the durable outbox of order events each shard keeps for its own orders until a
// receiver acknowledges them (server/webhook_client.h delivers them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"
#include "core/order.h"

namespace stampede {

struct webhook {
  std::string id;  // "whk_..."
  std::string url;
  std::string secret;
  std::vector<std::string> events;  // "order.shipped", "drop.won", "order.*", "drop.*" or "*"
  int64_t created_at_ms = 0;
  bool operator==(const webhook&) const = default;
};

// Does `w` want `event`?
inline bool webhook_wants(const webhook& w, std::string_view event) {
  for (const auto& pattern : w.events) {
    if (pattern == "*" || pattern == event) return true;
    if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".*") == 0 &&
        event.substr(0, pattern.size() - 1) == std::string_view(pattern).substr(0, pattern.size() - 1))
      return true;
  }
  return false;
}

// A receiver's address: http[s]://host[:port][/path].
struct http_url {
  bool tls = false;
  std::string host;
  std::string port = "80";  // 443 for https
  std::string target = "/";
};
std::optional<http_url> parse_http_url(std::string_view url);

// The order events (order.created ... order.refunded); each is mailed too.
bool is_order_event(std::string_view event);
// The events a webhook may ask for: every one API.md's Notifications names, the order events
// and the drops' (drop.admitted, drop.won, waitlist.offered).
bool is_notification_event(std::string_view event);

// "" or what is wrong with a registration's fields (the id and time are the engine's).
std::optional<error> validate(const webhook& w);

// One event waiting for one webhook to acknowledge it.
struct outbox_entry {
  std::string event_id;  // "evt_...": one per event, the same for every webhook
  std::string webhook_id;
  notification note;     // the event, as the owner's inbox has it
  int64_t created_at_ms = 0;
  bool operator==(const outbox_entry&) const = default;
};

}  // namespace stampede
