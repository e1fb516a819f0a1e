#include "core/drop_claims.h"

#include "core/ids.h"

namespace stampede {

const drop_claim* drop_claims::find(std::string_view product_id) const {
  auto it = claims_.find(as_key(product_id));
  return it == claims_.end() ? nullptr : &it->second;
}

std::optional<error> drop_claims::check_claim(std::string_view product_id,
                                              std::string_view drop_id) const {
  const drop_claim* c = find(product_id);
  if (!c || c->drop_id == drop_id) return std::nullopt;
  error_details d;
  d.product_id = std::string(product_id);
  return make_error(error_code::conflict,
                    "product " + std::string(product_id) + " is already in drop " + c->drop_id,
                    std::move(d));
}

void drop_claims::set(const std::string& product_id, std::optional<drop_claim> claim) {
  if (claim) {
    claims_[product_id] = std::move(*claim);
  } else {
    claims_.erase(as_key(product_id));
  }
}

std::optional<error> drop_claims::check_take(std::string_view product_id, const take_pass& pass,
                                             int64_t now_ms) const {
  const drop_claim* c = find(product_id);
  if (!c) return std::nullopt;
  // A queue that sold out is over: units that come back (a cancel, new stock) are sold as any
  // product's are, its waitlist offered first (offers_to_waitlist), with no admission. A
  // draw's product is never added directly (API.md), only offered from its waitlist.
  if (c->sold_out && (c->mode == drop_mode::queue || pass.what == take_pass::kind::waitlist_offer))
    return std::nullopt;
  bool ours = pass.drop_id == c->drop_id;
  if (c->mode == drop_mode::draw) {
    if (ours && pass.what == take_pass::kind::draw_grant) return std::nullopt;
    return not_admitted_error("product " + std::string(product_id) + " is in draw " + c->drop_id +
                              ": only its winners get it");
  }
  if (now_ms < c->opens_at_ms)
    return not_admitted_error("drop " + c->drop_id + " has not opened yet");
  if (ours && pass.what == take_pass::kind::admission) return std::nullopt;
  return not_admitted_error("product " + std::string(product_id) + " is in drop " + c->drop_id +
                            ": add it with the Stampede-Admission token of your ticket");
}

bool drop_claims::offers_to_waitlist(std::string_view product_id) const {
  const drop_claim* c = find(product_id);
  return !c || c->sold_out;
}

}  // namespace stampede
