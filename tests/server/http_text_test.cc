#include "server/http_text.h"

#include <gtest/gtest.h>

#include "server/http_errors.h"

namespace stampede::http {
namespace {

TEST(Target, PathsAndQueriesArePercentDecoded) {
  request r;
  parse_target("/v1/products/a%2Db?q=blue+hat&limit=5&cursor=x%26y", r);
  EXPECT_TRUE(r.query_ok);
  EXPECT_EQ(r.path, "/v1/products/a-b");
  EXPECT_EQ(r.query["q"], "blue hat");
  EXPECT_EQ(r.query["limit"], "5");
  EXPECT_EQ(r.query["cursor"], "x&y");
  request bad;
  parse_target("/v1/products?q=%G1", bad);
  EXPECT_FALSE(bad.query_ok);
  request truncated;
  parse_target("/v1/products/%4", truncated);
  EXPECT_FALSE(truncated.query_ok);
}
TEST(HttpText, BearerTokensAreFoundWhateverTheSchemesCase) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bEARER abc"), "abc");
  EXPECT_EQ(bearer_token("Bearer "), std::nullopt);
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearerabc"), std::nullopt);
  EXPECT_EQ(bearer_token(""), std::nullopt);
}

TEST(HttpText, JsonIsRecognisedWithParametersAndInAnyCase) {
  EXPECT_TRUE(is_json_media_type("application/json"));
  EXPECT_TRUE(is_json_media_type("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(is_json_media_type("application/json ;charset=utf-8"));
  EXPECT_FALSE(is_json_media_type("application/jsonx"));
  EXPECT_FALSE(is_json_media_type("text/plain"));
  EXPECT_FALSE(is_json_media_type(""));
}

TEST(HttpErrors, EveryCodeHasApiMdsStatus) {
  EXPECT_EQ(status_of(error_code::invalid_request), 400u);
  EXPECT_EQ(status_of(error_code::unauthorized), 401u);
  EXPECT_EQ(status_of(error_code::payment_failed), 402u);
  EXPECT_EQ(status_of(error_code::sale_ended), 403u);
  EXPECT_EQ(status_of(error_code::not_found), 404u);
  EXPECT_EQ(status_of(error_code::cart_empty), 409u);
  EXPECT_EQ(status_of(error_code::amount_mismatch), 422u);
  EXPECT_EQ(status_of(error_code::rate_limited), 429u);
  EXPECT_EQ(status_of(error_code::overloaded), 503u);
  EXPECT_EQ(status_of(error_code::io_error), 500u);
}

bool has_retry_after(const response& r) {
  for (const auto& [name, value] : r.headers)
    if (name == "Retry-After") return true;
  return false;
}

TEST(HttpErrors, RefusalsThatAskForARetrySayWhenAndNamedFieldsAreKept) {
  EXPECT_TRUE(has_retry_after(error_response(make_error(error_code::overloaded, "busy"))));
  EXPECT_TRUE(has_retry_after(error_response(make_error(error_code::rate_limited, "slow down"))));
  EXPECT_TRUE(has_retry_after(overloaded_response("busy")));
  response bad = error_response(field_error("quantity", "quantity must be 1..10000"));
  EXPECT_FALSE(has_retry_after(bad));
  EXPECT_EQ(bad.status, 400u);
  auto v = boost::json::parse(bad.body);
  EXPECT_EQ(v.at("error").at("code"), "invalid_request");
  EXPECT_EQ(v.at("error").at("details").at("field"), "quantity");
}

TEST(HttpErrors, ADeclinedPaymentIs402WithItsReasonAndWhetherToRetry) {
  payment p;
  p.id = "pay_1";
  p.status = payment_status::failed;
  p.failure_reason = "insufficient_funds";
  response r = payment_failed_response(p);
  EXPECT_EQ(r.status, 402u);
  auto d = boost::json::parse(r.body).at("error").at("details");
  EXPECT_EQ(d.at("reason"), "insufficient_funds");
  EXPECT_EQ(d.at("payment_id"), "pay_1");
  EXPECT_EQ(d.at("retryable"), true);
  p.failure_reason = "card_declined";
  EXPECT_EQ(boost::json::parse(payment_failed_response(p).body).at("error").at("details").at("retryable"), false);
}

}  // namespace
}  // namespace stampede::http
