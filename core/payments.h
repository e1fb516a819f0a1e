// The payment gateway seen from the engine: an asynchronous charge that completes with an
// outcome. The engine calls it on the user's shard after its own checks (order pending,
// amount equals total, idempotency key new) and carries on when the outcome arrives as a
// message, so a gateway never blocks a shard. The full card number and CVC reach the
// gateway and nothing else: the engine keeps only brand and last four digits.
// Thread-safety: charge() is called from shard threads; `done` may be called on any thread.
#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "core/order.h"

namespace stampede {

struct card_details {
  std::string number;  // digits only; never stored or logged
  int64_t exp_month = 0;
  int64_t exp_year = 0;
  std::string cvc;  // never stored or logged
};

// POST /v1/orders/{id}/payments, checked for shape by the caller.
struct payment_request {
  std::string method;  // "card" | "paypal"
  int64_t amount = 0;
  card_details card;   // empty for paypal
};

struct charge_request {
  std::string payment_id;
  std::string order_id;
  std::string method;  // "card" | "paypal"
  int64_t amount = 0;
  card_details card;
  int64_t now_ms = 0;  // the shard's clock when charged: a card's expiry is judged by it
};

struct charge_outcome {
  payment_status status = payment_status::failed;
  std::string failure_reason;  // "card_declined", "insufficient_funds", ...
  std::string redirect_url;    // for requires_action
  bool retryable = false;
};

class payment_gateway {
 public:
  virtual ~payment_gateway() = default;
  virtual void charge(charge_request request, absl::AnyInvocable<void(charge_outcome)> done) = 0;
};

// The built-in gateway of API.md's table of test cards. A card past its expiry (the end of
// exp_month of exp_year, UTC) is declined first, reason `expired_card`, as gateways do.
class sandbox_gateway final : public payment_gateway {
 public:
  void charge(charge_request request, absl::AnyInvocable<void(charge_outcome)> done) override;
};

// "visa", "mastercard", "amex", "discover" or "card" from the leading digits.
std::string card_brand(const std::string& number);
// Whether a card valid through the end of exp_month/exp_year (UTC) has expired at now_ms.
bool card_expired(int64_t exp_month, int64_t exp_year, int64_t now_ms);
// The Luhn check of a string of 12..19 digits.
bool luhn_valid(const std::string& number);

}  // namespace stampede
