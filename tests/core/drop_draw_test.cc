// A draw on a fake clock: entries inside the window, one a user; ranks by the HMAC of the
// revealed seed; winners in rank order while units last; a lapsed winner's units to the
// next rank; sold out at the end; a rebuild from the log that changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/drop.h"
#include "tests/core/drop_fixture.h"

namespace stampede {
namespace {

using testing::draw_drop;
using testing::drop_recorder;
using testing::supply;
using testing::t0_ms;

std::string entrant(int i) { return "entrant-" + std::to_string(i); }

TEST(DropDraw, EntriesAreTakenOnlyInsideTheWindowAndOnceAUser) {
  drop_recorder r;
  drop& d = r.create(draw_drop());
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  int64_t closes = *d.definition().draw_closes_at_ms;
  auto early = d.enter("alice", open - 1, emit);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.code(), error_code::sale_not_started);
  EXPECT_EQ(early.err().details.sale_starts_at_ms, open);
  EXPECT_TRUE(d.enter("alice", open, emit).value());
  EXPECT_FALSE(d.enter("alice", open + 5, emit).value());
  auto late = d.enter("bob", closes, emit);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.code(), error_code::sale_ended);
  EXPECT_FALSE(d.enter("alice", closes + 5, emit).value());  // already in: the same entry
  EXPECT_EQ(d.entry("alice")->stage, entry_stage::entered);
  EXPECT_FALSE(d.entry("alice")->rank.has_value());
  EXPECT_EQ(d.entry("bob").code(), error_code::not_found);
  EXPECT_EQ(d.enter("carol", open, emit).ok(), true);
  drop& q = r.create(testing::queue_drop());
  EXPECT_EQ(q.enter("alice", open, emit).code(), error_code::conflict);
}

TEST(DropDraw, TwoThousandEntriesForFiftyUnitsGoToTheFirstRanksAndALapsedWinToTheNext) {
  drop_recorder r;
  drop& d = r.create(draw_drop());
  std::string published = d.seed_sha256_hex();
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  int64_t closes = *d.definition().draw_closes_at_ms;
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(d.enter(entrant(i), open + i, emit).ok());
  d.on_supply("sku-1", supply(50));
  EXPECT_FALSE(d.tick(closes - 1, emit).opened_now);
  EXPECT_FALSE(d.revealed_seed_hex().has_value());

  auto drawn = d.tick(closes, emit);
  ASSERT_TRUE(drawn.opened_now);
  // Recompute the ranks from the revealed seed and the entrants alone.
  auto seed = from_hex(d.revealed_seed_hex().value());
  ASSERT_TRUE(seed.has_value());
  EXPECT_EQ(to_hex(sha256(*seed)), published);
  std::vector<std::pair<sha256_digest, std::string>> order;
  for (int i = 0; i < 2000; ++i) order.emplace_back(hmac_sha256(*seed, entrant(i)), entrant(i));
  std::sort(order.begin(), order.end());
  for (size_t k = 0; k < order.size(); ++k)
    ASSERT_EQ(d.entry(order[k].second)->rank, int64_t(k + 1));
  // The first 50 ranks are picked for the 50 units; their holds are being placed.
  std::vector<std::string> first50;
  for (size_t k = 0; k < 50; ++k) first50.push_back(order[k].second);
  auto picks = drawn.grants;
  std::sort(picks.begin(), picks.end());
  auto expected = first50;
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(picks, expected);
  EXPECT_TRUE(d.tick(closes + 100, emit).grants.empty());       // nothing picked twice
  EXPECT_EQ(d.entry(first50[0])->stage, entry_stage::offered);  // reads "entered"

  int64_t held_until = closes + 600'000;
  for (const auto& u : first50) d.grant_answered(u, held_until, emit);
  EXPECT_EQ(d.status().winners, 50);
  EXPECT_EQ(d.entry(first50[49])->stage, entry_stage::won);
  EXPECT_EQ(d.entry(order[50].second)->stage, entry_stage::entered);
  d.on_supply("sku-1", supply(0, 50));
  EXPECT_TRUE(d.tick(closes + 1000, emit).grants.empty());
  EXPECT_EQ(d.state(closes + 1000), drop_state::sold_out_pending);

  // At the hold deadline every winner is checked; the one at rank 7 never ordered.
  auto due = d.tick(held_until, emit).holds_to_check;
  EXPECT_EQ(due.size(), 50u);
  EXPECT_TRUE(d.tick(held_until + 100, emit).holds_to_check.empty());  // asked once
  for (const auto& u : first50)
    d.hold_checked(u, u == first50[6] ? drop::hold_outcome::lapsed : drop::hold_outcome::ordered, 0,
                   emit);
  EXPECT_EQ(d.entry(first50[6])->stage, entry_stage::lost);
  EXPECT_EQ(d.status().converted, 49);
  d.on_supply("sku-1", supply(1, 0));
  auto next = d.tick(held_until + 200, emit).grants;
  ASSERT_EQ(next, std::vector<std::string>{order[50].second});  // rank 51
  d.grant_answered(order[50].second, held_until + 600'000, emit);
  EXPECT_EQ(d.entry(order[50].second)->stage, entry_stage::won);
  EXPECT_EQ(d.status().winners, 51);

  // Rank 51 orders too: nothing available, nothing held. Everyone else lost.
  d.converted(order[50].second, emit);
  d.on_supply("sku-1", supply(0, 0));
  EXPECT_TRUE(d.tick(held_until + 300, emit).sold_out_now);
  EXPECT_EQ(d.entry(order[51].second)->stage, entry_stage::lost);
  EXPECT_EQ(d.entry(order[1999].second)->stage, entry_stage::lost);
  EXPECT_EQ(d.entry(first50[0])->stage, entry_stage::won);

  // The log rebuilds the same draw.
  drop_book again = r.replay();
  drop& rebuilt = *again.find("raffle");
  EXPECT_EQ(rebuilt.status(), d.status());
  for (int i = 0; i < 2000; ++i)
    EXPECT_EQ(*rebuilt.draw().find(entrant(i)), *d.draw().find(entrant(i)));
}

TEST(DropDraw, APickWithoutAUnitWaitsAtItsRankAndOneOverALimitLoses) {
  drop_recorder r;
  drop& d = r.create(draw_drop());
  auto emit = r.emitter();
  int64_t closes = *d.definition().draw_closes_at_ms;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(d.enter(entrant(i), d.definition().opens_at_ms, emit).ok());
  d.on_supply("sku-1", supply(2));
  auto picks = d.tick(closes, emit).grants;
  ASSERT_EQ(picks.size(), 2u);
  d.grant_answered(picks[0], make_error(error_code::out_of_stock, "gone"), emit);
  d.grant_answered(picks[1], make_error(error_code::limit_exceeded, "has one"), emit);
  EXPECT_EQ(d.entry(picks[0])->stage, entry_stage::entered);
  EXPECT_EQ(d.entry(picks[1])->stage, entry_stage::lost);
  d.on_supply("sku-1", supply(1));
  EXPECT_EQ(d.tick(closes + 100, emit).grants, std::vector<std::string>{picks[0]});
}

TEST(DropDraw, AWinnerStillHoldingIsCheckedAgainAtTheNewDeadline) {
  drop_recorder r;
  drop& d = r.create(draw_drop());
  auto emit = r.emitter();
  int64_t closes = *d.definition().draw_closes_at_ms;
  ASSERT_TRUE(d.enter("alice", d.definition().opens_at_ms, emit).ok());
  d.on_supply("sku-1", supply(1));
  ASSERT_EQ(d.tick(closes, emit).grants.size(), 1u);
  d.grant_answered("alice", closes + 1000, emit);
  ASSERT_EQ(d.tick(closes + 1000, emit).holds_to_check.size(), 1u);
  d.hold_checked("alice", drop::hold_outcome::held, closes + 5000, emit);
  EXPECT_TRUE(d.tick(closes + 4000, emit).holds_to_check.empty());
  EXPECT_EQ(d.tick(closes + 5000, emit).holds_to_check, std::vector<std::string>{"alice"});
}

TEST(DropDraw, PicksInFlightAreMadeAgainAfterARestart) {
  drop_recorder r;
  drop& d = r.create(draw_drop());
  auto emit = r.emitter();
  int64_t closes = *d.definition().draw_closes_at_ms;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(d.enter(entrant(i), d.definition().opens_at_ms, emit).ok());
  d.on_supply("sku-1", supply(3));
  auto picks = d.tick(closes, emit).grants;
  ASSERT_EQ(picks.size(), 3u);
  drop_book again = r.replay();
  drop& rebuilt = *again.find("raffle");
  rebuilt.restored(closes + 50);
  rebuilt.on_supply("sku-1", supply(3));
  std::vector<drop_effect> more;
  auto emit2 = [&](drop_effect&& e) {
    more.push_back(e);
    again.apply(more.back());
  };
  auto resent = rebuilt.tick(closes + 100, emit2).grants;
  std::sort(resent.begin(), resent.end());
  std::sort(picks.begin(), picks.end());
  EXPECT_EQ(resent, picks);
  EXPECT_TRUE(more.empty());  // the same picks, nothing new recorded
}

}  // namespace
}  // namespace stampede
