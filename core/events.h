// Order events, the one fan-out point: notify() puts an event in the owner's inbox
// (notification_added), in the webhook outbox for each registration that wants it
// (webhook_outbox.h), and, once durable, before every shard watching the order's topics
// (live_registry.h), each of which hands it to its own connections. Also the owner side
// of watching a topic (topic.h), and the availability of watched products, at most once a
// tick. Shard-local: call on the owning shard's thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/order.h"
#include "core/webhook.h"

namespace stampede {

class shard;
struct user_record;

namespace events {

void notify(shard& s, user_record& u, const order& o, std::string_view event);
// The same fan-out for a notification made elsewhere (a drop's event: no order; it reaches
// the owner's `orders` watchers).
void notify_user(shard& s, user_record& u, notification n);

// Connection `ticket` on shard `from` watches the topic `key` (requester and role decide
// whether it may); the answer, a snapshot or not_found, goes to `from`'s live sink.
void watch(shard& s, const std::string& key, const std::string& requester, bool admin,
           uint32_t from, uint64_t ticket);
void unwatch(shard& s, const std::string& key, uint32_t from);
// Timer: each watched product whose availability changed, to every shard watching it.
void publish_availability(shard& s);

// Every shard keeps the same registrations; the engine replaces all of them.
void replace_webhooks(shard& s, std::vector<webhook> list);

}  // namespace events
}  // namespace stampede
