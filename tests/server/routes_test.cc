// The route table (server/routes.cc) checked row by row: every column set and consistent
// with API.md, so that a row added for a new resource cannot leave one out.
#include "server/routes.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "server/transport_limits.h"

namespace stampede::http {
namespace {

std::string name_of(const route& r) { return std::string(r.method) + " " + r.pattern; }

TEST(Routes, EveryRowHasAKnownMethodAPatternAndAHandler) {
  const std::set<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE"};
  for (const auto& r : api::table()) {
    SCOPED_TRACE(name_of(r));
    EXPECT_TRUE(methods.contains(r.method));
    ASSERT_NE(r.pattern, nullptr);
    EXPECT_EQ(r.pattern[0], '/');
    EXPECT_NE(r.fn, nullptr);
  }
}

TEST(Routes, NoTwoRowsShareAMethodAndPattern) {
  std::set<std::string> seen;
  for (const auto& r : api::table()) EXPECT_TRUE(seen.insert(name_of(r)).second) << name_of(r);
  EXPECT_EQ(api::route_names().size(), api::table().size());
}

TEST(Routes, ReadsAreGetsAndEveryOtherMethodWritesExceptThePreview) {
  for (const auto& r : api::table()) {
    SCOPED_TRACE(name_of(r));
    if (std::string(r.method) == "GET") {
      EXPECT_EQ(r.kind, route_kind::read);
    } else if (name_of(r) == "POST /v1/checkout/preview") {
      EXPECT_EQ(r.kind, route_kind::read);  // API.md: "changing nothing"
    } else {
      EXPECT_EQ(r.kind, route_kind::write);
    }
  }
}

TEST(Routes, OnlyApiMdsThreeRoutesHonourIdempotencyKeys) {
  const std::set<std::string> keyed{"POST /v1/cart/items", "POST /v1/orders",
                                    "POST /v1/orders/{}/payments"};
  for (const auto& r : api::table()) {
    SCOPED_TRACE(name_of(r));
    EXPECT_EQ(r.keys == idempotency::honoured, keyed.contains(name_of(r)));
    if (r.keys == idempotency::honoured) {
      EXPECT_EQ(r.kind, route_kind::write);
    }
  }
}

TEST(Routes, BodiesAreTakenOnlyByMethodsThatCarryThemAndWithinTheTransportLimit) {
  for (const auto& r : api::table()) {
    SCOPED_TRACE(name_of(r));
    std::string m = r.method;
    if (r.body != body_kind::none) {
      EXPECT_TRUE(m == "POST" || m == "PUT" || m == "PATCH");
    }
    EXPECT_GT(r.body_bytes_max, 0u);
    EXPECT_LE(r.body_bytes_max, request_body_bytes_max);
  }
}

TEST(Routes, AdminPathsAreForAdminsAndNoOneElse) {
  for (const auto& r : api::table()) {
    SCOPED_TRACE(name_of(r));
    bool admin_path = std::string(r.pattern).starts_with("/v1/admin/");
    EXPECT_EQ(admin_path, r.who == access::admin);
  }
}

TEST(Routes, OnlyTheSignedPaymentWebhookTakesARawBodyWithoutAToken) {
  for (const auto& r : api::table()) {
    SCOPED_TRACE(name_of(r));
    if (r.body == body_kind::raw) {
      EXPECT_EQ(name_of(r), "POST /v1/webhooks/payments");
    }
    // Writes need a caller: a token, or (the gateway) a signature over the raw body.
    if (r.kind == route_kind::write && r.who == access::anyone) {
      EXPECT_EQ(r.body, body_kind::raw);
    }
  }
}

}  // namespace
}  // namespace stampede::http
