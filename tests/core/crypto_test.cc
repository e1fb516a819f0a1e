#include "core/crypto.h"

#include <gtest/gtest.h>

#include <vector>

namespace stampede {
namespace {

TEST(DropCrypto, Sha256MatchesTheFipsExample) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DropCrypto, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DropCrypto, AKeyedContextSignsLikeTheOneShotHmacMessageAfterMessage) {
  hmac_key key(std::string("\x00\x01\xfe\xff", 4) + std::string(40, 'k'));
  for (const std::string& msg :
       std::vector<std::string>{"", "alice", "bob", std::string(1000, 'x'), "alice"})
    EXPECT_EQ(key.sign(msg), hmac_sha256(key.key(), msg)) << msg.size();
}

TEST(DropCrypto, HexRoundTripsAndRefusesWhatIsNotHex) {
  std::string raw("\x00\x7f\x80\xff", 4);
  EXPECT_EQ(to_hex(raw), "007f80ff");
  EXPECT_EQ(from_hex("007f80ff"), raw);
  EXPECT_EQ(from_hex("007F80FF"), raw);
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

TEST(DropCrypto, RandomBytesAreTheSizeAskedAndDifferEachTime) {
  auto a = random_bytes(32);
  auto b = random_bytes(32);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

TEST(DropCrypto, ConstantTimeEqualComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace stampede
