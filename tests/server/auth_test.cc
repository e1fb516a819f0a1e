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
