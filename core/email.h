// Order email (API.md, "Email"): one mail waiting in a shard's durable outbox, as the
// event and the order stood when it happened, so a retry sends the same message. The
// outbox is core/email_outbox.h; server/email/ renders and sends what it holds.
// Plain values: any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/order.h"

namespace stampede {

struct email_entry {
  std::string event_id;  // "evt_...": the Message-ID is made from it
  notification note;     // the event, as the owner's inbox has it
  order order_now;       // the order then; its `email` is the recipient
  int64_t created_at_ms = 0;
  bool operator==(const email_entry&) const = default;
};

}  // namespace stampede
