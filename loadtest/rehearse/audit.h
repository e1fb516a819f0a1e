// The audit after a rehearsal (API.md, "Rehearsal"), through the API only: an admin token
// and paginated listings. Rules and the violation kinds they report:
//   oversold             no product has more committed (or committed + reserved) than on hand
//   missing_order        every order the server acknowledged exists with its lines and status
//   stock_not_conserved  on_hand = sold (units in orders not canceled) + held + available
//   limit_exceeded       no user, address or card holds more than its product's limit
//   payments             each paid order has exactly one succeeded payment (and none has two)
//   watchers             the watchers' last availability equals the server's
// Blocking, on the caller's thread, after the run's io_context has stopped.
#pragma once

#include <vector>

#include "loadtest/rehearse/journey.h"
#include "loadtest/rehearse/result.h"
#include "loadtest/rehearse/sale.h"
#include "loadtest/rehearse/setup.h"

namespace stampede::load {

// A kind with more violations than this reports the first ones and a count of the rest.
inline constexpr size_t violations_per_kind_max = 20;
// Readings of the stock before and after the order listing must agree (no hold lapsed in
// between); the audit reads again this often before it gives up on conservation.
inline constexpr int audit_readings_max = 4;

audit_result run_audit(const sale_setup& setup, const std::vector<acknowledged_order>& ledger,
                       const watcher_report& watchers);

}  // namespace stampede::load
