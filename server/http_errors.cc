#include "server/http_errors.h"

namespace stampede::http {

namespace {

response json_error(unsigned status, const json::value& body) {
  response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

void ask_to_retry(response& r, int64_t after_s = retry_after_s) {
  r.headers.emplace_back("Retry-After", std::to_string(after_s));
}

}  // namespace

unsigned status_of(error_code code) {
  switch (code) {
    case error_code::invalid_request: return 400;
    case error_code::unauthorized: return 401;
    case error_code::forbidden:
    case error_code::not_admitted:
    case error_code::sale_not_started:
    case error_code::sale_ended: return 403;
    case error_code::not_found: return 404;
    case error_code::payment_failed: return 402;
    case error_code::out_of_stock:
    case error_code::limit_exceeded:
    case error_code::invalid_transition:
    case error_code::cart_empty:
    case error_code::conflict: return 409;
    case error_code::idempotency_mismatch:
    case error_code::amount_mismatch: return 422;
    case error_code::rate_limited: return 429;
    case error_code::sold_out: return 410;
    case error_code::overloaded:
    case error_code::not_primary: return 503;
    case error_code::io_error:
    case error_code::corruption: return 500;
  }
  return 500;
}

response error_response(const error& e) {
  // Replies a deposed primary dropped (core/reply.h): who leads now is not known here.
  if (e.code == error_code::not_primary) return not_primary_response("");
  response r = json_error(status_of(e.code), error_json(e));
  if (e.code == error_code::overloaded || e.code == error_code::rate_limited)
    ask_to_retry(r, e.details.retry_after_s.value_or(retry_after_s));
  return r;
}

response http_error(unsigned status, std::string_view code, std::string message) {
  return json_error(status, json::object{{"error", json::object{{"code", code},
                                                                {"message", message},
                                                                {"details", json::object{}}}}});
}

response overloaded_response(std::string message) {
  response r = http_error(503, "overloaded", std::move(message));
  ask_to_retry(r);
  return r;
}

response not_primary_response(std::string_view primary_url) {
  json::value primary = primary_url.empty() ? json::value(nullptr) : json::value(primary_url);
  response r = json_error(
      503, json::object{{"error", json::object{{"code", "not_primary"},
                                               {"message", "this node is not the primary"},
                                               {"details", json::object{{"primary", primary}}}}}});
  ask_to_retry(r);
  return r;
}

response payment_failed_response(const payment& p) {
  // Only a lack of funds may pass on a second try with the same card.
  bool retryable = p.failure_reason == "insufficient_funds";
  json::object details{{"reason", p.failure_reason}, {"payment_id", p.id}, {"retryable", retryable}};
  return json_error(402, json::object{{"error", json::object{{"code", "payment_failed"},
                                                             {"message", "the payment was declined"},
                                                             {"details", std::move(details)}}}});
}

}  // namespace stampede::http
