// Admission to a drop's products: the token an admitted shopper shows in the
// Stampede-Admission header (an HMAC over user, drop and expiry with the server's secret,
// so the user's shard checks it without asking the drop's shard), the rate bound
// (admit_per_s over any second) and the unit bound (admitted shoppers who hold nothing yet
// must not be able to take more than every available unit, times 1 + overbook).
// admission_signer: one per shard thread (its MAC context is not shared). The rest: pure.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/errors.h"

namespace stampede {

struct admission {
  std::string drop_id;
  int64_t expires_at_ms = 0;
};

class admission_signer {
 public:
  // `secret`: the server's secret; the key is derived from it for this one use.
  explicit admission_signer(std::string_view secret);

  // "<expiry ms>.<64 hex digits>.<drop id>".
  std::string token(std::string_view user_id, std::string_view drop_id,
                    int64_t expires_at_ms) const;
  // The admission a token grants `user_id` at now_ms; not_admitted when it is malformed,
  // made for someone else, forged, or expired.
  result<admission> verify(std::string_view token, std::string_view user_id, int64_t now_ms) const;

 private:
  sha256_digest mac(std::string_view user_id, std::string_view drop_id,
                    int64_t expires_at_ms) const;
  hmac_key key_;
};

// The admissions of the last limits::drop_eta_window_ms: the rate bound counts those of the
// last second, the estimate divides by those of the whole window.
class admission_history {
 public:
  // How many more may be admitted at now_ms under `per_s` in any admission window.
  int64_t room(int64_t now_ms, int64_t per_s);
  // Admissions a second over the window (or since `since_ms`, when that is later); 0 when
  // there were none.
  double per_s(int64_t now_ms, int64_t since_ms);
  // REQUIRES: at_ms no earlier than the last noted (replay notes in log order).
  void note(int64_t at_ms);

 private:
  void prune(int64_t now_ms);
  std::deque<int64_t> times_;  // oldest first
};

// What a drop knows of one of its products, from the product shard's availability events.
struct product_supply {
  bool known = false;  // nothing heard yet: the product admits nobody
  int64_t available = 0;
  int64_t reserved = 0;
  int64_t max_per_user = 0;  // 0: one shopper could take every available unit
  bool operator==(const product_supply&) const = default;
};

// How many more shoppers may be admitted while `unused` admitted shoppers hold nothing yet:
// for some product, every admitted shopper who holds nothing taking max_per_user units must
// still leave one unit of available x (1 + overbook) untaken. 0 when nothing is known.
int64_t admission_room_for_units(const std::vector<product_supply>& products, int64_t unused,
                                 int64_t overbook_permille);

}  // namespace stampede
