// Payments on the order's shard (API.md, "Payments"): a charge through the gateway, whose
// outcome comes back to the shard as a message (the user's turn is held meanwhile, so
// nothing of theirs runs in between), and the gateway's webhook settling a payment that
// required action. A payment that succeeds on an order canceled meanwhile is refunded.
// Shard-local: call on the order's shard thread (engine.cc gets there).
#pragma once

#include <optional>
#include <string>

#include "core/order.h"
#include "core/payments.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace payment_ops {

// Checks the order and the key, charges through the gateway, records the outcome.
void pay_order(shard& s, std::string order_id, std::string requester, payment_request req,
               std::optional<std::string> idempotency_key,
               reply<idempotent<payment_result>> done);
// The gateway's webhook: settles a payment that required action. A repeat is a no-op.
void settle_payment(shard& s, std::string payment_id, payment_status status,
                    std::string reason, reply<ok_t> done);

}  // namespace payment_ops
}  // namespace stampede
