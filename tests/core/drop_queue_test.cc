// A drop's queue on a fake clock: the verifiable pre-queue order, FIFO after the opening,
// one ticket a user, admission by rate and by units, estimates that never grow, expiry,
// sold out, close, and a rebuild from the log that changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "core/drop.h"
#include "tests/core/drop_fixture.h"

namespace stampede {
namespace {

using testing::drop_recorder;
using testing::fresh_seed;
using testing::queue_drop;
using testing::supply;
using testing::t0_ms;

std::string user(int i) { return "user-" + std::to_string(i); }

int64_t position_of(drop& d, drop_recorder& r, const std::string& u, int64_t now_ms) {
  auto t = d.ticket(u, now_ms, r.signer);
  EXPECT_TRUE(t.ok());
  return t.ok() && t->position ? *t->position : -1;
}

// The book a snapshot of `d` rebuilds: the creation, each ticket's latest value in reverse
// order (a snapshot lists them in any order), then the status.
drop_book snapshot_of(const drop_recorder& r, const drop& d) {
  drop_book snap;
  snap.apply(r.log.front());
  std::map<std::string, drop_ticket> latest;
  for (const auto& e : r.log) {
    if (auto* t = std::get_if<drop_ticket_set>(&e)) latest[t->ticket.user_id] = t->ticket;
    if (auto* x = std::get_if<drop_ticket_removed>(&e)) latest.erase(x->user_id);
  }
  for (auto it = latest.rbegin(); it != latest.rend(); ++it)
    snap.apply(drop_ticket_set{d.id(), it->second});
  snap.apply(drop_status_set{d.id(), d.status()});
  return snap;
}

TEST(DropQueue, FiveThousandEarlyJoinersAreOrderedByTheHmacOfTheRevealedSeed) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  std::string published = d.seed_sha256_hex();
  EXPECT_EQ(published.size(), 64u);
  EXPECT_FALSE(d.revealed_seed_hex().has_value());
  auto emit = r.emitter();
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(d.join(user(i), t0_ms + i, emit).value());
  auto early = d.ticket(user(17), t0_ms + 5000, r.signer);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(early->position.has_value());  // nobody has a place before the opening
  EXPECT_EQ(d.state(t0_ms + 5000), drop_state::scheduled);

  d.tick(d.definition().opens_at_ms, emit);

  // Anyone can check the order: the seed matches the hash published at creation...
  auto seed_hex = d.revealed_seed_hex();
  ASSERT_TRUE(seed_hex.has_value());
  ASSERT_EQ(seed_hex->size(), 64u);
  auto seed = from_hex(*seed_hex);
  ASSERT_TRUE(seed.has_value());
  EXPECT_EQ(to_hex(sha256(*seed)), published);
  // ...and the order is HMAC-SHA256 keyed with those 32 bytes over each user id, ascending
  // (computed here with the one-shot HMAC, not the drop's keyed context).
  std::vector<std::pair<sha256_digest, std::string>> expected;
  for (int i = 0; i < 5000; ++i) expected.emplace_back(hmac_sha256(*seed, user(i)), user(i));
  std::sort(expected.begin(), expected.end());
  for (size_t k = 0; k < expected.size(); ++k)
    ASSERT_EQ(position_of(d, r, expected[k].second, d.definition().opens_at_ms), int64_t(k + 1))
        << expected[k].second;
}

TEST(DropQueue, JoiningTwiceKeepsTheTicket) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  EXPECT_TRUE(d.join("alice", t0_ms, emit).value());
  EXPECT_FALSE(d.join("alice", t0_ms + 10, emit).value());
  EXPECT_EQ(d.queue().size(), 1u);
  d.tick(d.definition().opens_at_ms, emit);
  int64_t place = position_of(d, r, "alice", d.definition().opens_at_ms);
  EXPECT_EQ(place, 1);
  EXPECT_FALSE(d.join("alice", d.definition().opens_at_ms + 5, emit).value());
  EXPECT_EQ(position_of(d, r, "alice", d.definition().opens_at_ms + 5), place);
}

TEST(DropQueue, LaterJoinersQueueInArrivalOrderBehindThePreQueue) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(d.join(user(i), t0_ms, emit).ok());
  int64_t open = d.definition().opens_at_ms;
  d.tick(open, emit);
  // Names chosen so that HMAC order would differ from arrival order in most seeds; arrival wins.
  std::vector<std::string> late = {"zed", "amy", "mo", "bo", "kay"};
  for (size_t i = 0; i < late.size(); ++i) ASSERT_TRUE(d.join(late[i], open + 100 + i, emit).ok());
  for (size_t i = 0; i < late.size(); ++i)
    EXPECT_EQ(position_of(d, r, late[i], open + 200), int64_t(4 + i)) << late[i];
}

TEST(DropQueue, AJoinAfterTheOpeningInstantButBeforeTheTickQueuesBehindThePreQueue) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(d.join(user(i), t0_ms, emit).ok());
  int64_t open = d.definition().opens_at_ms;
  ASSERT_TRUE(d.join("late", open + 1, emit).ok());  // no tick has run at the opening yet
  EXPECT_EQ(position_of(d, r, "late", open + 1), 51);
}

TEST(DropQueue, AheadCountsWaitingTicketsInFrontAndShrinksAsTheHeadIsAdmitted) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admit_per_s = 2;
  drop& d = r.create(def);
  auto emit = r.emitter();
  int64_t open = def.opens_at_ms;
  d.tick(open, emit);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(d.join(user(i), open + i, emit).ok());
  auto t = d.ticket(user(9), open + 10, r.signer);
  EXPECT_EQ(t->ahead, 9);
  d.on_supply("sku-1", supply(100));
  d.tick(open + 100, emit);  // two admitted
  t = d.ticket(user(9), open + 110, r.signer);
  EXPECT_EQ(t->ahead, 7);
  EXPECT_EQ(t->position, 10);  // a place is a stable name
  ASSERT_TRUE(d.leave(user(5), emit).ok());
  EXPECT_EQ(d.ticket(user(9), open + 120, r.signer)->ahead, 6);
  EXPECT_EQ(d.ticket(user(0), open + 120, r.signer)->state, ticket_state::admitted);
}

TEST(DropQueue, AdmissionsNeverPassAdmitPerSecondInAnyOneSecondWindow) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admit_per_s = 50;
  drop& d = r.create(def);
  auto emit = r.emitter();
  int64_t open = def.opens_at_ms;
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(d.join(user(i), t0_ms + i, emit).ok());
  d.on_supply("sku-1", supply(1'000'000));
  std::vector<int64_t> admitted_at;
  for (int64_t t = open; t < open + 10'000; t += 37) {  // ticks off the second's grid
    for (size_t n = d.tick(t, emit).admitted.size(); n > 0; --n) admitted_at.push_back(t);
  }
  ASSERT_GE(admitted_at.size(), 450u);  // the bound is reached, not just respected
  for (size_t i = 0; i < admitted_at.size(); ++i) {
    auto in_window =
        std::upper_bound(admitted_at.begin(), admitted_at.end(), admitted_at[i] + 999) -
        (admitted_at.begin() + i);
    ASSERT_LE(in_window, 50) << "window starting at " << admitted_at[i] - open;
  }
  EXPECT_EQ(d.status().admitted, int64_t(admitted_at.size()));
}

TEST(DropQueue, AdmissionStopsWhileAdmittedShoppersCouldTakeEveryUnitAndResumesWhenAHoldLapses) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(d.join(user(i), t0_ms + i, emit).ok());
  d.on_supply("sku-1", supply(10, 0, 2));  // 10 units, at most 2 a shopper
  auto first = d.tick(open, emit).admitted;
  EXPECT_EQ(first.size(), 5u);  // 5 shoppers x 2 units = every unit
  EXPECT_TRUE(d.tick(open + 2000, emit).admitted.empty());
  // Two of them put 2 units each in their carts: 6 left, 3 shoppers still holding nothing.
  d.admission_used(first[0], emit);
  d.admission_used(first[1], emit);
  d.on_supply("sku-1", supply(6, 4, 2));
  EXPECT_TRUE(d.tick(open + 3000, emit).admitted.empty());
  // One hold lapses: 8 left, room for one more shopper.
  d.on_supply("sku-1", supply(8, 2, 2));
  EXPECT_EQ(d.tick(open + 4000, emit).admitted.size(), 1u);
  EXPECT_TRUE(d.tick(open + 5000, emit).admitted.empty());
}

TEST(DropQueue, OverbookAdmitsThatShareMoreShoppersThanUnits) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.overbook_permille = 200;  // 0.2
  drop& d = r.create(def);
  auto emit = r.emitter();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(d.join(user(i), t0_ms, emit).ok());
  d.on_supply("sku-1", supply(10, 0, 1));
  EXPECT_EQ(d.tick(def.opens_at_ms, emit).admitted.size(), 12u);
}

TEST(DropQueue, AnAdmissionUnusedByItsDeadlineExpiresAndLetsTheNextIn) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admission_ttl_s = 30;
  drop& d = r.create(def);
  auto emit = r.emitter();
  int64_t open = def.opens_at_ms;
  d.tick(open, emit);
  ASSERT_TRUE(d.join("first", open + 1, emit).ok());
  ASSERT_TRUE(d.join("second", open + 2, emit).ok());
  d.on_supply("sku-1", supply(1));
  EXPECT_EQ(d.tick(open + 100, emit).admitted, std::vector<std::string>{"first"});
  auto t = d.ticket("first", open + 200, r.signer);
  EXPECT_EQ(t->admitted_until_ms, open + 100 + 30'000);
  EXPECT_TRUE(d.tick(open + 30'000, emit).admitted.empty());
  EXPECT_TRUE(d.ticket("second", open + 30'000, r.signer).ok());
  EXPECT_EQ(d.tick(open + 30'100, emit).admitted, std::vector<std::string>{"second"});
  EXPECT_EQ(d.ticket("first", open + 30'200, r.signer)->state, ticket_state::expired);
  EXPECT_FALSE(d.ticket("first", open + 30'200, r.signer)->admission_token.has_value());
  EXPECT_EQ(d.status().expired, 1);
  EXPECT_EQ(d.status().admitted, 2);
}

TEST(DropQueue, AnAdmissionUsedInTimeDoesNotExpire) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admission_ttl_s = 30;
  drop& d = r.create(def);
  auto emit = r.emitter();
  ASSERT_TRUE(d.join("alice", t0_ms, emit).ok());
  d.on_supply("sku-1", supply(1));
  ASSERT_EQ(d.tick(def.opens_at_ms, emit).admitted.size(), 1u);
  d.admission_used("alice", emit);
  d.tick(def.opens_at_ms + 60'000, emit);
  EXPECT_EQ(d.ticket("alice", def.opens_at_ms + 60'000, r.signer)->state, ticket_state::admitted);
  EXPECT_EQ(d.status().expired, 0);
}

TEST(DropQueue, TheAdmissionTokenIsTheTicketHoldersAndOnlyUntilItsDeadline) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  ASSERT_TRUE(d.join("alice", t0_ms, emit).ok());
  d.on_supply("sku-1", supply(5));
  int64_t open = d.definition().opens_at_ms;
  d.tick(open, emit);
  auto t = d.ticket("alice", open + 1, r.signer);
  ASSERT_TRUE(t->admission_token.has_value());
  auto ok = r.signer.verify(*t->admission_token, "alice", open + 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->drop_id, "fall-drop");
  EXPECT_EQ(ok->expires_at_ms, *t->admitted_until_ms);
  EXPECT_TRUE(r.signer.verify(*t->admission_token, "mallory", open + 2).code() == error_code::not_admitted);
  EXPECT_TRUE(
      r.signer.verify(*t->admission_token, "alice", *t->admitted_until_ms).code() == error_code::not_admitted);
  admission_signer other("another-secret");
  EXPECT_TRUE(other.verify(*t->admission_token, "alice", open + 2).code() == error_code::not_admitted);
}

TEST(DropQueue, ATicketNobodyLooksAtForFiveMinutesExpiresAndAWatchedOneDoesNot) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  d.tick(open, emit);
  for (const char* u : {"polled", "ignored", "watched"}) ASSERT_TRUE(d.join(u, open, emit).ok());
  d.watch("watched", +1, open + 10);
  EXPECT_TRUE(d.ticket("polled", open + 200'000, r.signer).ok());
  d.tick(open + 300'000, emit);
  EXPECT_EQ(d.ticket("ignored", open + 300'000, r.signer)->state, ticket_state::expired);
  EXPECT_EQ(d.ticket("polled", open + 300'000, r.signer)->state, ticket_state::waiting);
  d.tick(open + 1'000'000, emit);
  EXPECT_EQ(d.ticket("watched", open + 1'000'000, r.signer)->state, ticket_state::waiting);
  d.watch("watched", -1, open + 1'000'000);
  d.tick(open + 1'299'999, emit);
  EXPECT_EQ(d.queue().find("watched")->state, ticket_state::waiting);
  d.tick(open + 1'300'000, emit);
  EXPECT_EQ(d.queue().find("watched")->state, ticket_state::expired);
  EXPECT_EQ(d.status().expired, 3);  // ignored, polled (last seen at +200 s), watched
}

TEST(DropQueue, TheEstimateIsClampedToTheLastOneShownUntilAPause) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  ASSERT_TRUE(d.join("alice", t0_ms, emit).ok());
  drop_queue& q = const_cast<drop_queue&>(d.queue());
  EXPECT_FALSE(q.estimate("alice", 10, 0, 0).has_value());  // no rate yet: unknown
  EXPECT_EQ(q.estimate("alice", 10, 5.0, 0), 3);            // 11 / 5, rounded up
  EXPECT_EQ(q.estimate("alice", 10, 1.0, 0), 3);            // would be 11: never grows
  EXPECT_EQ(q.estimate("alice", 10, 0, 0), 3);              // rate unknown again: still 3
  EXPECT_EQ(q.estimate("alice", 4, 5.0, 0), 1);             // shrinks freely
  EXPECT_EQ(q.estimate("alice", 10, 1.0, 1), 11);           // after a pause it may grow
}

TEST(DropQueue, EstimatesNeverGrowBetweenReadsWhileAdmissionSlowsAndStops) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admit_per_s = 5;
  drop& d = r.create(def);
  auto emit = r.emitter();
  int64_t open = def.opens_at_ms;
  d.tick(open, emit);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(d.join(user(i), open, emit).ok());  // FIFO
  std::map<std::string, int64_t> last;
  for (int64_t t = open; t <= open + 60'000; t += 100) {
    // 20 s of plenty (shoppers take their units at once), then one unit nobody takes, then
    // none (all in carts): the measured admission rate falls from 5 a second to nothing.
    bool plenty = t < open + 20'000;
    d.on_supply("sku-1", supply(plenty ? 1'000'000 : (t < open + 40'000 ? 1 : 0), 100, 1));
    for (auto& u : d.tick(t, emit).admitted)
      if (plenty) d.admission_used(u, emit);
    if ((t - open) % 1000 != 0) continue;
    for (int i = 100; i < 300; i += 2) {  // the even ones are read every second
      auto v = d.ticket(user(i), t, r.signer);
      ASSERT_TRUE(v.ok());
      if (v->state != ticket_state::waiting) continue;
      if (last.contains(user(i))) {
        ASSERT_TRUE(v->eta_s.has_value()) << "an estimate once known stays known";
        ASSERT_LE(*v->eta_s, last[user(i)]) << user(i) << " at +" << (t - open) << " ms";
      }
      if (v->eta_s) last[user(i)] = *v->eta_s;
    }
  }
  ASSERT_GE(last.size(), 50u);
  // Read now for the first time, a ticket is estimated at the drop's admission rate (5 a
  // second), not today's (none), as the tickets read all along are.
  auto fresh = d.ticket(user(251), open + 60'000, r.signer);
  ASSERT_EQ(fresh->state, ticket_state::waiting);
  ASSERT_TRUE(fresh->eta_s.has_value());
  EXPECT_EQ(*fresh->eta_s, (*fresh->ahead + 1 + 4) / 5);
  EXPECT_TRUE(d.ticket(user(250), open + 60'000, r.signer)->eta_s.has_value());
}

// API.md: "The estimate never grows between two reads unless the drop was paused", and a
// restart is not a pause. Found from outside: estimates read before a restart, while
// admission had stopped, came back after it 2-7 times larger.
TEST(DropQueue, EstimatesAfterARestartFromTheLogOrASnapshotAreTheSameAsBefore) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admit_per_s = 4;
  drop& d = r.create(def);
  auto emit = r.emitter();
  int64_t open = def.opens_at_ms;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(d.join(user(i), t0_ms + i, emit).ok());
  // Admission at 4 a second for 3 s, then none: every unit is in a cart.
  for (int64_t t = open; t <= open + 3000; t += 100) {
    d.on_supply("sku-1", supply(1'000'000, 0, 1));
    for (auto& u : d.tick(t, emit).admitted) d.admission_used(u, emit);
    if (t % 1000 == open % 1000)
      for (int i = 0; i < 40; ++i) (void)d.ticket(user(i), t, r.signer);
  }
  // An admitted shopper leaves: their admission time goes with the ticket (found in review:
  // a rate rebuilt from the tickets left would then be lower, and every estimate higher).
  for (int i = 0; i < 40; ++i) {
    auto v = d.ticket(user(i), open + 3000, r.signer);
    if (v.ok() && v->state == ticket_state::admitted) {
      ASSERT_TRUE(d.leave(user(i), emit).ok());
      break;
    }
  }
  // Every ticket read each second, as a waiting page polls, while admission runs and after
  // it stopped; what each showed last is what a restart must not raise.
  int64_t read_at = open + 20'000;
  std::map<std::string, std::optional<int64_t>> before;
  for (int64_t t = open; t <= read_at; t += 1000) {
    if (t > open + 3000) {
      d.on_supply("sku-1", supply(0, 12, 1));
      d.tick(t, emit);
    }
    for (int i = 0; i < 40; ++i) {
      auto v = d.ticket(user(i), t, r.signer);
      if (v.ok() && v->state == ticket_state::waiting) before[user(i)] = v->eta_s;
    }
  }
  ASSERT_GE(before.size(), 20u);

  drop_book replayed = r.replay();
  drop_book snap = snapshot_of(r, d);
  for (drop_book* b : {&replayed, &snap}) {
    drop& again = *b->find("fall-drop");
    again.restored(read_at + 5000);
    for (const auto& [u, eta] : before) {
      auto v = again.ticket(u, read_at + 5000, r.signer);
      ASSERT_TRUE(v.ok());
      ASSERT_TRUE(eta.has_value()) << u;
      ASSERT_TRUE(v->eta_s.has_value()) << u;
      EXPECT_EQ(*v->eta_s, *eta) << u;
    }
  }
}

TEST(DropQueue, PausedDropsAdmitNobodyAndShowNoEstimate) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  d.tick(open, emit);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(d.join(user(i), open, emit).ok());
  d.on_supply("sku-1", supply(1'000'000));
  EXPECT_EQ(d.tick(open + 100, emit).admitted.size(), 50u);
  EXPECT_EQ(d.tick(open + 1100, emit).admitted.size(), 50u);
  auto before = d.ticket(user(999), open + 1100, r.signer)->eta_s;
  ASSERT_TRUE(before.has_value());
  d.pause(emit);
  EXPECT_TRUE(d.tick(open + 2100, emit).admitted.empty());
  EXPECT_FALSE(d.ticket(user(999), open + 2100, r.signer)->eta_s.has_value());
  d.resume(emit);
  EXPECT_EQ(d.tick(open + 3100, emit).admitted.size(), 50u);
}

TEST(DropQueue, WhenNothingIsLeftEveryWaitingTicketTurnsSoldOutAndJoinsAreRefused) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(d.join(user(i), t0_ms, emit).ok());
  d.on_supply("sku-1", supply(2, 0, 1));
  auto admitted = d.tick(open, emit).admitted;
  ASSERT_EQ(admitted.size(), 2u);
  for (auto& u : admitted) d.admission_used(u, emit);
  // Both units in carts: nothing available, but units may come back.
  d.on_supply("sku-1", supply(0, 2, 1));
  auto pending = d.tick(open + 1000, emit);
  EXPECT_FALSE(pending.sold_out_now);
  EXPECT_EQ(d.state(open + 1000), drop_state::sold_out_pending);
  // A user not admitted still waits (which two were admitted depends on the fresh seed).
  std::string not_admitted;
  for (int i = 0; i < 10 && not_admitted.empty(); ++i)
    if (std::find(admitted.begin(), admitted.end(), user(i)) == admitted.end()) not_admitted = user(i);
  EXPECT_EQ(d.ticket(not_admitted, open + 1000, r.signer)->state, ticket_state::waiting);
  EXPECT_TRUE(d.join("newcomer", open + 1000, emit).ok());
  // Both ordered: nothing available and nothing held.
  d.on_supply("sku-1", supply(0, 0, 1));
  EXPECT_TRUE(d.tick(open + 2000, emit).sold_out_now);
  EXPECT_EQ(d.state(open + 2000), drop_state::sold_out);
  for (int i = 0; i < 10; ++i) {
    auto t = d.ticket(user(i), open + 2000, r.signer);
    bool was_admitted = std::find(admitted.begin(), admitted.end(), user(i)) != admitted.end();
    EXPECT_EQ(t->state, was_admitted ? ticket_state::admitted : ticket_state::sold_out) << user(i);
  }
  auto late = d.join("latecomer", open + 2000, emit);
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(late.code() == error_code::sold_out);
  EXPECT_EQ(d.view(open + 2000).waiting, 0);
  // Units that come back later do not reopen a sold-out drop (they go to the waitlist).
  d.on_supply("sku-1", supply(3, 0, 1));
  EXPECT_TRUE(d.tick(open + 3000, emit).admitted.empty());
}

TEST(DropQueue, ClosingTurnsWaitingTicketsClosedAndRefusesJoins) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  ASSERT_TRUE(d.join("alice", t0_ms, emit).ok());
  d.close(emit);
  EXPECT_EQ(d.state(t0_ms), drop_state::closed);
  EXPECT_EQ(d.ticket("alice", t0_ms, r.signer)->state, ticket_state::closed);
  auto j = d.join("bob", t0_ms, emit);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.code(), error_code::sale_ended);
  EXPECT_FALSE(d.tick(d.definition().opens_at_ms, emit).opened_now);
}

TEST(DropQueue, LeavingDropsTheTicketAndJoiningAgainQueuesAtTheBack) {
  drop_recorder r;
  drop& d = r.create(queue_drop());
  auto emit = r.emitter();
  int64_t open = d.definition().opens_at_ms;
  d.tick(open, emit);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(d.join(user(i), open + i, emit).ok());
  ASSERT_TRUE(d.leave(user(0), emit).ok());
  EXPECT_EQ(d.ticket(user(0), open + 10, r.signer).code(), error_code::not_found);
  EXPECT_EQ(d.leave(user(0), emit).code(), error_code::not_found);
  ASSERT_TRUE(d.join(user(0), open + 20, emit).value());
  EXPECT_EQ(position_of(d, r, user(0), open + 20), 4);
  EXPECT_EQ(d.ticket(user(0), open + 20, r.signer)->ahead, 2);
}

TEST(DropQueue, ADrawRefusesQueueJoins) {
  drop_recorder r;
  drop& d = r.create(testing::draw_drop());
  auto emit = r.emitter();
  EXPECT_EQ(d.join("alice", t0_ms, emit).code(), error_code::conflict);
}

// The log holds everything: a book rebuilt from it, or from only the latest value of each
// ticket in any order (what a snapshot holds), has the same tickets, places and counts.
TEST(DropQueue, ABookRebuiltFromTheLogOrFromASnapshotHasTheSameQueue) {
  drop_recorder r;
  drop_definition def = queue_drop();
  def.admission_ttl_s = 20;
  drop& d = r.create(def);
  auto emit = r.emitter();
  int64_t open = def.opens_at_ms;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(d.join(user(i), t0_ms + i, emit).ok());
  d.on_supply("sku-1", supply(30, 0, 2));
  auto admitted = d.tick(open, emit).admitted;
  ASSERT_EQ(admitted.size(), 15u);
  for (int i = 200; i < 260; ++i) ASSERT_TRUE(d.join(user(i), open + i, emit).ok());
  ASSERT_TRUE(d.leave(user(230), emit).ok());
  d.admission_used(admitted[0], emit);
  d.converted(admitted[0], emit);
  d.tick(open + 25'000, emit);  // the 14 unused admissions expire, 15 more come in
  ASSERT_EQ(d.status().expired, 14);
  ASSERT_EQ(d.status().converted, 1);

  drop_book replayed = r.replay();
  drop_book snap = snapshot_of(r, d);

  for (drop_book* b : {&replayed, &snap}) {
    drop& again = *b->find("fall-drop");
    EXPECT_EQ(again.status(), d.status());
    EXPECT_EQ(again.seed_sha256_hex(), d.seed_sha256_hex());
    EXPECT_EQ(again.queue().size(), d.queue().size());
    EXPECT_EQ(again.queue().waiting(), d.queue().waiting());
    for (int i = 0; i < 260; ++i) {
      const drop_ticket* a = d.queue().find(user(i));
      const drop_ticket* c = again.queue().find(user(i));
      ASSERT_EQ(a == nullptr, c == nullptr) << user(i);
      if (!a) continue;
      EXPECT_EQ(*a, *c);
      if (a->state == ticket_state::waiting && a->place > 0) {
        EXPECT_EQ(d.queue().ahead_of(a->place), again.queue().ahead_of(c->place)) << user(i);
      }
    }
  }
}

}  // namespace
}  // namespace stampede
