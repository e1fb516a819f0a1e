#include "core/drop_claims.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

constexpr int64_t opens_ms = 1'795'000'060'000;

drop_claims with(std::string product, drop_claim c) {
  drop_claims claims;
  claims.set(product, std::move(c));
  return claims;
}

take_pass admission_to(std::string drop) {
  return take_pass{take_pass::kind::admission, std::move(drop)};
}

TEST(DropClaims, AProductInAnOpenDropCannotJoinAnother) {
  drop_claims claims = with("sku-1", drop_claim{"fall", drop_mode::queue, opens_ms});
  auto e = claims.check_claim("sku-1", "winter");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, error_code::conflict);
  EXPECT_EQ(e->details.product_id, "sku-1");
  EXPECT_FALSE(claims.check_claim("sku-1", "fall").has_value());
  EXPECT_FALSE(claims.check_claim("sku-2", "winter").has_value());
  claims.set("sku-1", std::nullopt);  // the drop closed
  EXPECT_FALSE(claims.check_claim("sku-1", "winter").has_value());
}

TEST(DropClaims, AQueueProductNeedsAnAdmissionToItsDropAfterTheOpening) {
  drop_claims claims = with("sku-1", drop_claim{"fall", drop_mode::queue, opens_ms});
  EXPECT_TRUE(claims.check_take("sku-1", {}, opens_ms)->code == error_code::not_admitted);
  EXPECT_TRUE(claims.check_take("sku-1", admission_to("winter"), opens_ms)->code == error_code::not_admitted);
  EXPECT_TRUE(claims.check_take("sku-1", admission_to("fall"), opens_ms - 1)->code == error_code::not_admitted);
  EXPECT_FALSE(claims.check_take("sku-1", admission_to("fall"), opens_ms).has_value());
  EXPECT_FALSE(claims.check_take("sku-2", {}, opens_ms).has_value());  // in no drop
  EXPECT_TRUE(claims.check_take("sku-1", {take_pass::kind::waitlist_offer, ""}, opens_ms)->code == error_code::not_admitted);
}

TEST(DropClaims, ADrawProductGoesOnlyToTheDrawsWinners) {
  drop_claims claims = with("sku-1", drop_claim{"raffle", drop_mode::draw, opens_ms});
  EXPECT_TRUE(claims.check_take("sku-1", admission_to("raffle"), opens_ms)->code == error_code::not_admitted);
  EXPECT_FALSE(claims.check_take("sku-1", {take_pass::kind::draw_grant, "raffle"}, opens_ms));
  EXPECT_TRUE(
      claims.check_take("sku-1", {take_pass::kind::draw_grant, "x"}, opens_ms)->code == error_code::not_admitted);
}

// Units that come back after the drop sold out (a cancel, new stock) go to the product's
// waitlist first, and are otherwise sold as any product's: with no admission. (Found from
// outside: they were refused to everyone, as not_admitted, and the waitlist refused joins
// while they sat there as available.)
TEST(DropClaims, OnceItsQueueSoldOutAProductIsSoldAsAnyOtherItsWaitlistFirst) {
  for (drop_mode mode : {drop_mode::queue, drop_mode::draw}) {
    drop_claims claims = with("sku-1", drop_claim{"fall", mode, opens_ms});
    EXPECT_FALSE(claims.offers_to_waitlist("sku-1"));
    EXPECT_TRUE(claims.offers_to_waitlist("sku-2"));
    EXPECT_TRUE(claims.check_take("sku-1", {}, opens_ms)->code == error_code::not_admitted);
    claims.set("sku-1", drop_claim{"fall", mode, opens_ms, true});
    EXPECT_TRUE(claims.offers_to_waitlist("sku-1"));
    EXPECT_FALSE(claims.check_take("sku-1", {take_pass::kind::waitlist_offer, ""}, opens_ms));
    // A draw's product is never added directly (API.md), sold out or not.
    auto plain = claims.check_take("sku-1", {}, opens_ms);
    if (mode == drop_mode::queue) {
      EXPECT_FALSE(plain);
    } else {
      ASSERT_TRUE(plain);
      EXPECT_EQ(plain->code, error_code::not_admitted);
    }
  }
}

}  // namespace
}  // namespace stampede
