#include "server/auth.h"

#include <gtest/gtest.h>

namespace stampede::http {
namespace {

constexpr int64_t now = 1'800'000'000;

TEST(Auth, ASignedTokenVerifiesWithItsClaims) {
  token_verifier v("secret");
  auto id = v.verify(sign_token("secret", "alice", "customer", now + 60), now);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->user_id, "alice");
  EXPECT_FALSE(id->admin);
  auto admin = v.verify(sign_token("secret", "root", "admin", now + 60), now);
  ASSERT_TRUE(admin);
  EXPECT_TRUE(admin->admin);
}

TEST(Auth, ExpiredTokensAreRefusedEvenOnceCached) {
  token_verifier v("secret");
  std::string t = sign_token("secret", "alice", "customer", now + 60);
  ASSERT_TRUE(v.verify(t, now));
  ASSERT_TRUE(v.verify(t, now));  // the second sighting keeps it
  ASSERT_EQ(v.cached(), 1u);
  EXPECT_FALSE(v.verify(t, now + 60));
  EXPECT_FALSE(v.verify(sign_token("secret", "alice", "customer", now), now));
}

TEST(Auth, TamperedOrForeignTokensAreRefused) {
  token_verifier v("secret");
  std::string t = sign_token("secret", "alice", "customer", now + 60);
  EXPECT_FALSE(v.verify(sign_token("other", "alice", "customer", now + 60), now));
  std::string flipped = t;
  flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(v.verify(flipped, now));
  std::string no_sig = t.substr(0, t.rfind('.') + 1);
  EXPECT_FALSE(v.verify(no_sig, now));
  EXPECT_FALSE(v.verify("a.b", now));
  EXPECT_FALSE(v.verify("", now));
  EXPECT_FALSE(v.verify(t + ".x", now));
}

TEST(Auth, HmacMatchesAKnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Auth, ConstantTimeEqualComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace stampede::http

namespace stampede::http {
namespace {

TEST(Auth, TheEmailClaimIsKeptAsSignedAndIsOptional) {
  token_verifier v("secret");
  auto with = v.verify(sign_token("secret", "alice", "customer", 1'800'000'060, "a@example.com"),
                       1'800'000'000);
  ASSERT_TRUE(with);
  EXPECT_EQ(with->email, "a@example.com");
  auto without = v.verify(sign_token("secret", "bob", "customer", 1'800'000'060), 1'800'000'000);
  ASSERT_TRUE(without);
  EXPECT_EQ(without->email, "");
}

}  // namespace
}  // namespace stampede::http

namespace stampede::http {
namespace {

TEST(Auth, ATokenIsKeptOnlyOnItsSecondSightingAndAnswersTheSameFromTheCache) {
  token_verifier v("secret");
  std::vector<std::string> once;
  for (int i = 0; i < 1000; ++i)
    once.push_back(sign_token("secret", "shopper-" + std::to_string(i), "customer", now + 60));
  for (const auto& t : once) ASSERT_TRUE(v.verify(t, now));
  EXPECT_EQ(v.cached(), 0u);  // each seen once: none kept
  std::string admin = sign_token("secret", "root", "admin", now + 60, "root@example.com");
  auto first = v.verify(admin, now);
  auto second = v.verify(admin, now);
  EXPECT_EQ(v.cached(), 1u);
  auto third = v.verify(admin, now);  // from the cache
  ASSERT_TRUE(first && second && third);
  for (const auto& id : {*second, *third}) {
    EXPECT_EQ(id.user_id, first->user_id);
    EXPECT_EQ(id.admin, first->admin);
    EXPECT_EQ(id.email, first->email);
    EXPECT_EQ(id.expires_at_s, first->expires_at_s);
  }
}

// The header last found good is not parsed again: another header is still checked.
TEST(Auth, AHeaderOtherThanTheLastGoodOneIsStillChecked) {
  token_verifier v("secret");
  ASSERT_TRUE(v.verify(sign_token("secret", "alice", "customer", now + 60), now));
  auto with_header = [](std::string header_json, std::string_view signed_token) {
    // A token whose header part is base64url(header_json), signed with the same secret.
    std::string claims(signed_token.substr(signed_token.find('.') + 1));
    claims.resize(claims.find('.'));
    auto b64 = [](std::string_view in) {
      static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      std::string out;
      uint32_t acc = 0;
      int bits = 0;
      for (unsigned char c : in) {
        acc = (acc << 8) | c;
        for (bits += 8; bits >= 6; bits -= 6) out.push_back(a[(acc >> (bits - 6)) & 0x3f]);
      }
      if (bits > 0) out.push_back(a[(acc << (6 - bits)) & 0x3f]);
      return out;
    };
    std::string input = b64(header_json) + "." + claims;
    return input + "." + b64(digest_bytes(hmac_sha256("secret", input)));
  };
  std::string bob = sign_token("secret", "bob", "customer", now + 60);
  EXPECT_FALSE(v.verify(with_header(R"({"alg":"none","typ":"JWT"})", bob), now));
  EXPECT_FALSE(v.verify(with_header(R"({"alg":"HS512"})", bob), now));
  EXPECT_FALSE(v.verify(with_header("[1]", bob), now));
  auto reordered = v.verify(with_header(R"({"typ":"JWT","alg":"HS256"})", bob), now);
  ASSERT_TRUE(reordered);
  EXPECT_EQ(reordered->user_id, "bob");
  // And the first header, no longer the last good one, is checked and passes again.
  EXPECT_TRUE(v.verify(sign_token("secret", "carol", "customer", now + 60), now));
}

}  // namespace
}  // namespace stampede::http
