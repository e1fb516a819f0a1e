// The one table from core's error codes (core/errors.h) to HTTP statuses, and every error
// answer in API.md's shape: {"error": {"code", "message", "details"}}, with Retry-After on
// the refusals that ask for a retry, and the 402 of a declined payment. Pure functions: any
// thread.
#pragma once

#include <string>
#include <string_view>

#include "core/errors.h"
#include "core/order.h"
#include "server/request.h"

namespace stampede::http {

// Seconds a client is told to wait after a 429 or a 503 (Retry-After).
inline constexpr int retry_after_s = 1;

// The HTTP status of an error code (API.md's table).
unsigned status_of(error_code code);
// An engine error as an answer: its status, its JSON, and Retry-After where it applies.
response error_response(const error& e);
// An error the transport or the routes make themselves (no details).
response http_error(unsigned status, std::string_view code, std::string message);
// 503 overloaded with Retry-After: admission control shed the request, nothing changed.
response overloaded_response(std::string message);
// 503 not_primary with Retry-After: this node follows; details.primary is the primary's
// advertised URL ("" when unknown: null).
response not_primary_response(std::string_view primary_url);
// 402 payment_failed for a declined payment: details.reason, payment_id, retryable.
response payment_failed_response(const payment& p);

}  // namespace stampede::http
