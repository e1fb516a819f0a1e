#include "core/drop_identity.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

address home() {
  address a;
  a.id = "adr_1";
  a.name = "Alice Example";
  a.line1 = "12 Main St.";
  a.line2 = "Apt. 2";
  a.city = "Springfield";
  a.region = "IL";
  a.postal_code = "62701";
  a.country = "US";
  a.phone = "+1 555 0100";
  return a;
}

TEST(NormalizedAddress, CaseSpacingAndPunctuationDoNotMakeANewAddress) {
  address b = home();
  b.line1 = "  12   MAIN st ";
  b.line2 = "apt #2";
  b.city = "SPRINGFIELD";
  b.region = "il.";
  EXPECT_EQ(normalized_address(home()), "12 main st apt 2|springfield|il|62701|us");
  EXPECT_EQ(address_key(b), address_key(home()));
}

TEST(NormalizedAddress, NameAndPhoneAndHowTheStreetIsSplitAreIgnored) {
  address b = home();
  b.id = "adr_other";
  b.name = "Bob Other";
  b.phone = "+44 20 7946 0000";
  b.line1 = "12 Main St, Apt 2";
  b.line2 = "";
  EXPECT_EQ(address_key(b), address_key(home()));
}

TEST(NormalizedAddress, PostalCodesCompareWithoutSpaces) {
  address uk = home();
  uk.postal_code = "SW1A 1AA";
  uk.country = "GB";
  address squashed = uk;
  squashed.postal_code = "sw1a1aa";
  EXPECT_EQ(address_key(uk), address_key(squashed));
}

TEST(NormalizedAddress, AnotherFlatOrTownIsAnotherAddress) {
  address b = home();
  b.line2 = "Apt 3";
  EXPECT_NE(address_key(b), address_key(home()));
  b = home();
  b.city = "Shelbyville";
  EXPECT_NE(address_key(b), address_key(home()));
  b = home();
  b.line1 = "1 2 Main St";  // a separator between digits is kept
  EXPECT_NE(address_key(b), address_key(home()));
}

TEST(NormalizedAddress, LettersOutsideAsciiAreKeptAsWritten) {
  address b = home();
  b.city = "Zürich";
  address c = home();
  c.city = "Zurich";
  EXPECT_NE(address_key(b), address_key(c));
  EXPECT_NE(normalized_address(b).find("zürich"), std::string::npos);
}

TEST(CardFingerprint, TheNumberAloneDecidesItAndTheSecretKeysIt) {
  card_fingerprinter f("server-secret");
  std::string plain = f.fingerprint("4242424242424242");
  EXPECT_EQ(plain.size(), 32u);
  EXPECT_EQ(f.fingerprint("4242 4242 4242 4242"), plain);
  EXPECT_EQ(f.fingerprint("4242-4242-4242-4242"), plain);
  EXPECT_NE(f.fingerprint("4000000000000002"), plain);
  EXPECT_NE(card_fingerprinter("other-secret").fingerprint("4242424242424242"), plain);
  EXPECT_EQ(plain.find("4242"), std::string::npos);
}

TEST(AccountCounts, ALimitIsPassedOnlyByUnitsBeyondIt) {
  account_counts counts;
  EXPECT_FALSE(counts.check("sku-1", "k", 1, 1, limit_scope::address));
  counts.add("sku-1", "k", 1);
  auto breach = counts.check("sku-1", "k", 1, 1, limit_scope::address);
  ASSERT_TRUE(breach.has_value());
  EXPECT_EQ(breach->scope, limit_scope::address);
  EXPECT_EQ(breach->limit, 1);
  EXPECT_EQ(breach->already, 1);
  EXPECT_FALSE(counts.check("sku-1", "k", 1, 0, limit_scope::address));  // 0: no limit
  EXPECT_FALSE(counts.check("sku-2", "k", 1, 1, limit_scope::address));
  EXPECT_FALSE(counts.check("sku-1", "other", 1, 1, limit_scope::card));
  counts.remove("sku-1", "k", 1);
  EXPECT_EQ(counts.units("sku-1", "k"), 0);
  EXPECT_FALSE(counts.check("sku-1", "k", 1, 1, limit_scope::address));
  EXPECT_EQ(to_string(limit_scope::card), "card");
}

}  // namespace
}  // namespace stampede
