#include "core/drop_waitlist.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

constexpr int64_t now_ms = 1'795'000'000'000;

struct recorded_waitlists {
  waitlists lists;
  std::vector<waitlist_effect> log;
  auto emitter() {
    return [this](waitlist_effect&& e) {
      log.push_back(e);
      lists.apply(log.back());
    };
  }
};

std::vector<std::string> users_of(const std::vector<waitlist_entry>& offers) {
  std::vector<std::string> out;
  for (const auto& e : offers) out.push_back(e.user_id);
  return out;
}

TEST(Waitlist, JoiningIsOnlyWhileNothingIsAvailableAndKeepsOnePlaceAUser) {
  recorded_waitlists w;
  auto emit = w.emitter();
  auto busy = w.lists.join("sku-1", "alice", 1, 3, now_ms, emit);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.code(), error_code::conflict);
  EXPECT_EQ(busy.err().details.available, 3);
  EXPECT_TRUE(w.lists.join("sku-1", "alice", 1, 0, now_ms, emit).value());
  EXPECT_TRUE(w.lists.join("sku-1", "bob", 2, 0, now_ms, emit).value());
  EXPECT_FALSE(w.lists.join("sku-1", "alice", 1, 0, now_ms, emit).value());
  EXPECT_FALSE(w.lists.join("sku-1", "alice", 5, 9, now_ms, emit).value());  // same place
  EXPECT_EQ(w.lists.position("sku-1", "alice").value(), 1);
  EXPECT_EQ(w.lists.position("sku-1", "bob").value(), 2);
  EXPECT_EQ(w.lists.join("sku-1", "carol", 0, 0, now_ms, emit).code(), error_code::invalid_request);
  ASSERT_TRUE(w.lists.leave("sku-1", "alice", emit).ok());
  EXPECT_EQ(w.lists.position("sku-1", "bob").value(), 1);
  EXPECT_EQ(w.lists.position("sku-1", "alice").code(), error_code::not_found);
  EXPECT_EQ(w.lists.leave("sku-1", "alice", emit).code(), error_code::not_found);
}

TEST(Waitlist, UnitsThatComeBackAreOfferedFirstComeFirstServed) {
  recorded_waitlists w;
  auto emit = w.emitter();
  for (auto [user, q] : {std::pair{"a", 1}, {"b", 2}, {"c", 1}, {"d", 1}})
    ASSERT_TRUE(w.lists.join("sku-1", user, q, 0, now_ms, emit).ok());
  // One unit back: only a fits; b, who asked for 2, blocks c behind it.
  EXPECT_EQ(users_of(w.lists.offer("sku-1", 1, emit)), std::vector<std::string>{"a"});
  EXPECT_EQ(w.lists.offered_units("sku-1"), 1);
  EXPECT_TRUE(w.lists.offer("sku-1", 1, emit).empty());  // that unit is spoken for
  EXPECT_EQ(users_of(w.lists.offer("sku-1", 3, emit)), std::vector<std::string>{"b"});
  EXPECT_EQ(w.lists.offered_units("sku-1"), 3);
  w.lists.offer_answered("sku-1", "a", std::nullopt, emit);              // in a's cart
  w.lists.offer_answered("sku-1", "b", error_code::out_of_stock, emit);  // waits again
  EXPECT_EQ(w.lists.offered_units("sku-1"), 0);
  EXPECT_FALSE(w.lists.find("sku-1", "a"));
  EXPECT_EQ(w.lists.position("sku-1", "b").value(), 1);
  EXPECT_EQ(users_of(w.lists.offer("sku-1", 4, emit)), (std::vector<std::string>{"b", "c", "d"}));
  w.lists.offer_answered("sku-1", "c", error_code::limit_exceeded, emit);  // refused: leaves
  EXPECT_FALSE(w.lists.find("sku-1", "c"));
  EXPECT_EQ(w.lists.in_flight().size(), 2u);
}

TEST(Waitlist, ListsAreRebuiltFromTheLogWithTheirOffersInFlight) {
  recorded_waitlists w;
  auto emit = w.emitter();
  for (const char* u : {"a", "b", "c"})
    ASSERT_TRUE(w.lists.join("sku-1", u, 1, 0, now_ms, emit).ok());
  ASSERT_TRUE(w.lists.join("sku-2", "a", 3, 0, now_ms, emit).ok());
  w.lists.offer("sku-1", 1, emit);
  ASSERT_TRUE(w.lists.leave("sku-1", "b", emit).ok());
  waitlists again;
  for (const auto& e : w.log) again.apply(e);
  EXPECT_EQ(*again.find("sku-1", "a"), *w.lists.find("sku-1", "a"));
  EXPECT_EQ(again.position("sku-1", "c").value(), 2);
  EXPECT_EQ(again.offered_units("sku-1"), 1);
  EXPECT_EQ(again.in_flight().size(), 1u);
  EXPECT_EQ(again.find("sku-2", "a")->quantity, 3);
}

TEST(Waitlist, AnEmptiedListStartsItsPlacesAgain) {
  recorded_waitlists w;
  auto emit = w.emitter();
  ASSERT_TRUE(w.lists.join("sku-1", "a", 1, 0, now_ms, emit).ok());
  ASSERT_TRUE(w.lists.leave("sku-1", "a", emit).ok());
  ASSERT_TRUE(w.lists.join("sku-1", "b", 1, 0, now_ms, emit).ok());
  EXPECT_EQ(w.lists.find("sku-1", "b")->place, 1);
}

}  // namespace
}  // namespace stampede
