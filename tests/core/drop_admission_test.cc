#include "core/drop_admission.h"

#include <gtest/gtest.h>

#include "core/drop_types.h"

namespace stampede {
namespace {

constexpr int64_t now_ms = 1'795'000'000'000;

TEST(AdmissionToken, NamesItsDropAndExpiryAndVerifiesForItsUserOnly) {
  admission_signer signer("server-secret");
  std::string token = signer.token("alice", "fall.drop-1", now_ms + 300'000);
  auto ok = signer.verify(token, "alice", now_ms);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->drop_id, "fall.drop-1");
  EXPECT_EQ(ok->expires_at_ms, now_ms + 300'000);
  EXPECT_TRUE(signer.verify(token, "bob", now_ms).code() == error_code::not_admitted);
  EXPECT_TRUE(signer.verify(token, "alice", now_ms + 300'000).code() == error_code::not_admitted);
}

TEST(AdmissionToken, ATokenChangedAnywhereIsRefused) {
  admission_signer signer("server-secret");
  std::string token = signer.token("alice", "drop", now_ms + 1000);
  std::string longer_expiry = std::to_string(now_ms + 999'999) + token.substr(token.find('.'));
  EXPECT_FALSE(signer.verify(longer_expiry, "alice", now_ms).ok());
  std::string other_drop = token.substr(0, token.rfind('.') + 1) + "other";
  EXPECT_FALSE(signer.verify(other_drop, "alice", now_ms).ok());
  std::string flipped = token;
  flipped[token.find('.') + 5] ^= 1;
  EXPECT_FALSE(signer.verify(flipped, "alice", now_ms).ok());
  for (const std::string& bad :
       std::vector<std::string>{"", "x", "123.", "123.abc.drop",
                                "-5." + std::string(64, 'a') + ".d", std::string(500, '1')})
    EXPECT_TRUE(signer.verify(bad, "alice", now_ms).code() == error_code::not_admitted) << bad;
}

TEST(AdmissionToken, TheSameSecretOnAnotherShardVerifiesIt) {
  admission_signer made_on_drop_shard("s3cret");
  admission_signer checked_on_user_shard("s3cret");
  std::string token = made_on_drop_shard.token("alice", "d", now_ms + 10);
  EXPECT_TRUE(checked_on_user_shard.verify(token, "alice", now_ms).ok());
}

TEST(AdmissionHistory, RoomCountsAdmissionsOfTheLastSecondOnly) {
  admission_history h;
  EXPECT_EQ(h.room(now_ms, 3), 3);
  h.note(now_ms);
  h.note(now_ms + 400);
  EXPECT_EQ(h.room(now_ms + 500, 3), 1);
  EXPECT_EQ(h.room(now_ms + 999, 3), 1);
  EXPECT_EQ(h.room(now_ms + 1000, 3), 2);  // the first left the window
  EXPECT_EQ(h.room(now_ms + 1400, 3), 3);
}

TEST(AdmissionHistory, TheRateIsMeasuredOverTheWindowOrSinceTheOpening) {
  admission_history h;
  EXPECT_EQ(h.per_s(now_ms, now_ms - 60'000), 0);
  for (int i = 0; i < 20; ++i) h.note(now_ms + i * 100);  // 20 in 2 s
  EXPECT_DOUBLE_EQ(h.per_s(now_ms + 2000, now_ms), 10.0);
  EXPECT_DOUBLE_EQ(h.per_s(now_ms + 2000, now_ms - 60'000), 2.0);  // over the 10 s window
  EXPECT_EQ(h.per_s(now_ms + 30'000, now_ms), 0);
}

product_supply units(int64_t available, int64_t max_per_user) {
  return product_supply{true, available, 0, max_per_user};
}

TEST(AdmissionRoomForUnits, AdmitsUntilTheShoppersHoldingNothingCouldTakeEveryUnit) {
  EXPECT_EQ(admission_room_for_units({units(10, 2)}, 0, 0), 5);
  EXPECT_EQ(admission_room_for_units({units(10, 2)}, 4, 0), 1);
  EXPECT_EQ(admission_room_for_units({units(10, 2)}, 5, 0), 0);
  EXPECT_EQ(admission_room_for_units({units(10, 2)}, 9, 0), 0);
  EXPECT_EQ(admission_room_for_units({units(11, 2)}, 0, 0), 6);  // the sixth may get one
  EXPECT_EQ(admission_room_for_units({units(10, 2)}, 0, 200), 6);
  EXPECT_EQ(admission_room_for_units({units(10, 0)}, 0, 0), 1);  // no limit: one takes all
  EXPECT_EQ(admission_room_for_units({units(0, 1)}, 0, 0), 0);
  EXPECT_EQ(admission_room_for_units({product_supply{}}, 0, 0), 0);  // nothing heard yet
  // Any product with units left keeps the gate open.
  EXPECT_EQ(admission_room_for_units({units(0, 1), units(3, 1)}, 1, 0), 2);
}

}  // namespace
}  // namespace stampede
