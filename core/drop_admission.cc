#include "core/drop_admission.h"

#include <algorithm>
#include <charconv>

#include "core/limits.h"
#include "core/drop_types.h"

namespace stampede {

namespace {
// The token key is HMAC(secret, this label): the server's secret signs JWTs too, and a
// token of one kind must never verify as the other.
constexpr std::string_view key_label = "stampede admission token v1";
}  // namespace

admission_signer::admission_signer(std::string_view secret)
    : key_([&] {
        sha256_digest k = hmac_sha256(secret, key_label);
        return std::string(reinterpret_cast<const char*>(k.data()), k.size());
      }()) {}

sha256_digest admission_signer::mac(std::string_view user_id, std::string_view drop_id,
                                    int64_t expires_at_ms) const {
  // User ids hold no control characters and drop ids no newline: the message is unambiguous.
  std::string msg;
  msg.reserve(user_id.size() + drop_id.size() + 24);
  msg.append(user_id).push_back('\n');
  msg.append(drop_id).push_back('\n');
  msg.append(std::to_string(expires_at_ms));
  return key_.sign(msg);
}

std::string admission_signer::token(std::string_view user_id, std::string_view drop_id,
                                    int64_t expires_at_ms) const {
  std::string out = std::to_string(expires_at_ms);
  out.push_back('.');
  out.append(to_hex(mac(user_id, drop_id, expires_at_ms)));
  out.push_back('.');
  out.append(drop_id);
  return out;
}

result<admission> admission_signer::verify(std::string_view token, std::string_view user_id,
                                           int64_t now_ms) const {
  if (token.empty() || token.size() > limits::admission_token_length_max)
    return not_admitted_error("a valid Stampede-Admission token is required");
  size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos || token.size() < dot1 + 1 + 64 + 2 || token[dot1 + 65] != '.')
    return not_admitted_error("the admission token is malformed");
  int64_t expires = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + dot1, expires);
  if (ec != std::errc() || end != token.data() + dot1 || expires <= 0)
    return not_admitted_error("the admission token is malformed");
  std::string_view mac_hex = token.substr(dot1 + 1, 64);
  std::string_view drop_id = token.substr(dot1 + 66);
  std::string expected = to_hex(mac(user_id, drop_id, expires));
  if (!constant_time_equal(expected, mac_hex))
    return not_admitted_error("the admission token is not this user's");
  if (expires <= now_ms) return not_admitted_error("the admission has expired");
  return admission{std::string(drop_id), expires};
}

void admission_history::prune(int64_t now_ms) {
  while (!times_.empty() && times_.front() <= now_ms - limits::drop_eta_window_ms)
    times_.pop_front();
}

void admission_history::note(int64_t at_ms) {
  // A clock stepped back must not unsort the window: an admission counts at the latest time seen.
  times_.push_back(times_.empty() ? at_ms : std::max(at_ms, times_.back()));
}

int64_t admission_history::room(int64_t now_ms, int64_t per_s) {
  prune(now_ms);
  auto first_in_window =
      std::upper_bound(times_.begin(), times_.end(), now_ms - limits::drop_admission_window_ms);
  int64_t in_window = static_cast<int64_t>(times_.end() - first_in_window);
  return std::max<int64_t>(0, per_s - in_window);
}

double admission_history::per_s(int64_t now_ms, int64_t since_ms) {
  prune(now_ms);
  if (times_.empty()) return 0;
  int64_t span_ms = std::min(limits::drop_eta_window_ms, now_ms - since_ms);
  if (span_ms < limits::drop_admission_window_ms) span_ms = limits::drop_admission_window_ms;
  return static_cast<double>(times_.size()) * 1000.0 / static_cast<double>(span_ms);
}

int64_t admission_room_for_units(const std::vector<product_supply>& products, int64_t unused,
                                 int64_t overbook_permille) {
  int64_t cap = 0;
  for (const auto& p : products) {
    if (!p.known || p.available <= 0) continue;
    int64_t take = p.max_per_user > 0 ? p.max_per_user : p.available;
    // Shoppers a = 0, 1, ... fit while a * take < available * (1 + overbook): that many are
    // ceil(available * (1000 + overbook) / (take * 1000)).
    int64_t supply = p.available * (1000 + overbook_permille);
    int64_t demand = take * 1000;
    cap = std::max(cap, (supply + demand - 1) / demand);
  }
  return std::max<int64_t>(0, cap - unused);
}

}  // namespace stampede
