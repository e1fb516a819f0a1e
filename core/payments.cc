#include "core/payments.h"

#include <chrono>

namespace stampede {

void sandbox_gateway::charge(charge_request request,
                             absl::AnyInvocable<void(charge_outcome)> done) {
  charge_outcome o;
  if (request.method == "paypal") {
    o.status = payment_status::requires_action;
    o.redirect_url = "https://sandbox.stampede.invalid/paypal/approve/" + request.payment_id;
  } else if (card_expired(request.card.exp_month, request.card.exp_year, request.now_ms)) {
    o.failure_reason = "expired_card";
  } else if (request.card.number == "4242424242424242") {
    o.status = payment_status::succeeded;
  } else if (request.card.number == "4000000000000002") {
    o.failure_reason = "card_declined";
  } else if (request.card.number == "4000000000009995") {
    o.failure_reason = "insufficient_funds";
    o.retryable = true;
  } else if (request.card.number == "4000000000003220") {
    o.status = payment_status::requires_action;
    o.redirect_url = "https://sandbox.stampede.invalid/3ds/" + request.payment_id;
  } else {
    // Any other valid number succeeds, as test gateways do.
    o.status = payment_status::succeeded;
  }
  done(std::move(o));
}

bool card_expired(int64_t exp_month, int64_t exp_year, int64_t now_ms) {
  using namespace std::chrono;
  year_month_day today{floor<days>(sys_time<milliseconds>(milliseconds(now_ms)))};
  int64_t now_months = static_cast<int64_t>(static_cast<int>(today.year())) * 12 +
                       static_cast<int64_t>(static_cast<unsigned>(today.month()));
  return exp_year * 12 + exp_month < now_months;
}

std::string card_brand(const std::string& n) {
  if (n.empty()) return "card";
  if (n[0] == '4') return "visa";
  if (n.size() >= 2 && n[0] == '5' && n[1] >= '1' && n[1] <= '5') return "mastercard";
  if (n.size() >= 2 && n[0] == '3' && (n[1] == '4' || n[1] == '7')) return "amex";
  if (n.rfind("6011", 0) == 0 || n.rfind("65", 0) == 0) return "discover";
  return "card";
}

bool luhn_valid(const std::string& n) {
  if (n.size() < 12 || n.size() > 19) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = n.rbegin(); it != n.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

}  // namespace stampede
