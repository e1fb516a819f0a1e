// Order operations on the user's shard (API.md, "Orders" and "Notifications"): reads,
// cancels, the admin's status moves, the listings, the unpaid orders the timer cancels,
// and change_status, the one place an order's status changes (it notifies, refunds on a
// cancel, and returns the stock once the cancel is durable).
// Shard-local: call on the order's shard thread (engine.cc gets there).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/message.h"
#include "core/order.h"
#include "core/reply.h"

namespace stampede {

class shard;
class user_turn;

namespace order_ops {

// `requester` is the caller's user id; `as_admin` lets an admin see and change any order.
void get_order(shard& s, std::string order_id, std::string requester, bool as_admin,
               reply<order> done);
void cancel_order(shard& s, std::string order_id, std::string requester, bool as_admin,
                  reply<order> done);
void set_order_status(shard& s, std::string order_id, order_status to,
                      std::optional<std::string> tracking_number, reply<order> done);
// Newest first; `cursor` is the last id of the previous page.
void list_orders(shard& s, const std::string& user_id, std::string_view cursor, size_t limit,
                 reply<page<order>> done);
void list_notifications(shard& s, const std::string& user_id, std::string_view cursor,
                        size_t limit, reply<page<notification>> done);
// This shard's orders, newest first, strictly older than the cursor (created_at_ms, id).
std::vector<order> orders_before(const shard& s, std::optional<order_status> status,
                                 std::optional<std::pair<int64_t, std::string>> cursor,
                                 size_t limit);

// Moves the order of the turn's user to `to` (REQUIRES: allowed for an admin or the
// system) and returns the stock that frees (a cancel's units), for shard::free_stock.
[[nodiscard]] std::vector<stock_move> change_status(shard& s, user_turn& turn,
                                                    std::string_view order_id, order_status to,
                                                    std::optional<std::string> tracking_number);

// Timer: pending orders whose payment deadline passed are canceled.
void cancel_unpaid_due(shard& s, int64_t now_ms);

}  // namespace order_ops
}  // namespace stampede
