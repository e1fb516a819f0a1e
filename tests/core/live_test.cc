// Live updates at the engine level (core/live.h): a watch is answered with a snapshot on
// the watching shard, refused for what the caller may not see, followed by each event once
// per watching shard, and silent after unwatch; availability goes out on a tick, only when
// it changed.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/shard.h"
#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

using testing::engine_fixture;

// Records what one shard's sink is told (on that shard's thread); the test waits for what
// it expects (messages between shards have no deadline the test could name).
struct recording_sink final : live_sink {
  std::mutex mu;
  std::condition_variable cv;
  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock l(mu);
    return cv.wait_for(l, std::chrono::seconds(5), [&] { return pred(*this); });
  }
  std::vector<std::pair<uint64_t, result<watch_snapshot>>> answers;
  std::vector<std::shared_ptr<const order_event>> orders;
  std::vector<std::pair<std::string, int64_t>> availability_seen;

  void watch_answered(uint64_t ticket, result<watch_snapshot> a) override {
    std::lock_guard l(mu);
    answers.emplace_back(ticket, std::move(a));
    cv.notify_all();
  }
  void order_changed(const std::shared_ptr<const order_event>& e) override {
    std::lock_guard l(mu);
    orders.push_back(e);
    cv.notify_all();
  }
  void availability(const std::string& id, int64_t available, int64_t) override {
    std::lock_guard l(mu);
    availability_seen.emplace_back(id, available);
    cv.notify_all();
  }
};

class Live : public ::testing::Test, public engine_fixture {
 protected:
  Live() : engine_fixture(2) {
    for (uint32_t i = 0; i < 2; ++i)
      engine_.set_live_sink(i, &sinks[i]);
    // The watcher's connection lives on shard 1; alice's orders on shard 0.
    for (int n = 0; alice.empty(); ++n)
      if (engine_.routes().user_shard("a" + std::to_string(n)) == 0) alice = "a" + std::to_string(n);
  }
  // Runs fn on shard i's thread and waits for it.
  void on(uint32_t i, absl::AnyInvocable<void(shard&)> fn) {
    std::promise<void> done;
    engine_.shard_at(i).post(shard_task{[&fn, &done](shard& s) {
      fn(s);
      done.set_value();
    }});
    done.get_future().wait();
  }
  // Shard 1's sink once it has at least n answers / order events / availability messages.
  recording_sink& answers(size_t n) {
    EXPECT_TRUE(sinks[1].wait_until([n](auto& s) { return s.answers.size() >= n; }));
    return sinks[1];
  }
  recording_sink& orders(size_t n) {
    EXPECT_TRUE(sinks[1].wait_until([n](auto& s) { return s.orders.size() >= n; }));
    return sinks[1];
  }
  recording_sink& availability(size_t n) {
    EXPECT_TRUE(sinks[1].wait_until([n](auto& s) { return s.availability_seen.size() >= n; }));
    return sinks[1];
  }
  // For what must not arrive: everything in flight has had time to.
  recording_sink& quiet() {
    settle();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return sinks[1];
  }
  void watch(const std::string& topic, const std::string& who, bool admin, uint64_t ticket) {
    on(1, [&](shard&) { engine_.watch(topic, who, admin, 1, ticket); });
  }
  std::string order_for(const std::string& user) {
    EXPECT_TRUE(create("sku-" + user, 10).ok());
    EXPECT_TRUE(add(user, "sku-" + user, 1).ok());
    auto a = add_address(user, address{"", "N", "L1", "", "C", "", "1", "GB", ""});
    auto o = place(user, checkout_request{a->id, "", "standard"}, std::nullopt);
    EXPECT_TRUE(o.ok());
    return o->value.id;
  }

  recording_sink sinks[2];
  std::string alice;
};

TEST_F(Live, AnOrderWatchIsAnsweredWithItsStateThenEveryChangeOnce) {
  std::string id = order_for(alice);
  watch("order:" + id, alice, false, 7);
  watch("orders:" + alice, alice, false, 8);  // the same events: still once per shard
  {
    auto& s = answers(2);
    ASSERT_EQ(s.answers.size(), 2u);
    EXPECT_EQ(s.answers[0].first, 7u);
    ASSERT_TRUE(s.answers[0].second.ok());
    EXPECT_EQ(s.answers[0].second->order_now->status, order_status::pending);
    EXPECT_FALSE(s.answers[1].second->order_now);  // "orders": no snapshot
  }
  ASSERT_TRUE(pay(id, alice, get_order(id, alice)->total).ok());
  ASSERT_TRUE(set_status(id, order_status::shipped, "1Z").ok());
  auto& s = orders(2);
  ASSERT_EQ(quiet().orders.size(), 2u);
  EXPECT_EQ(s.orders[0]->now.status, order_status::paid);
  EXPECT_EQ(s.orders[0]->previous, order_status::pending);
  EXPECT_EQ(s.orders[0]->note.event, "order.paid");
  EXPECT_TRUE(s.orders[0]->status_changed);
  EXPECT_EQ(s.orders[1]->now.status, order_status::shipped);
  EXPECT_EQ(s.orders[1]->now.tracking_number, "1Z");
  EXPECT_TRUE(sinks[0].orders.empty());  // nobody watches from shard 0
}

TEST_F(Live, WhatTheCallerMayNotSeeIsRefusedAndCountsNothing) {
  std::string id = order_for(alice);
  watch("order:" + id, "mallory", false, 1);
  watch("product:nope", "", false, 2);
  watch("order:" + id, "", true, 3);  // an admin may
  auto& s = answers(3);
  ASSERT_EQ(s.answers.size(), 3u);
  EXPECT_EQ(s.answers[0].second.code(), error_code::not_found);
  EXPECT_EQ(s.answers[1].second.code(), error_code::not_found);
  EXPECT_TRUE(s.answers[2].second.ok());
  EXPECT_TRUE(engine_.topic_owners("order:ord_garbage").empty());
  EXPECT_EQ(engine_.topic_owners("admin:orders").size(), 2u);
}

TEST_F(Live, AfterUnwatchNothingMoreArrives) {
  std::string id = order_for(alice);
  watch("order:" + id, alice, false, 1);
  watch("order:" + id, alice, false, 2);  // two connections on shard 1
  on(1, [&](shard&) { engine_.unwatch("order:" + id, 1); });
  ASSERT_TRUE(pay(id, alice, get_order(id, alice)->total).ok());
  EXPECT_EQ(orders(1).orders.size(), 1u);  // one watcher left: still sent
  on(1, [&](shard&) { engine_.unwatch("order:" + id, 1); });
  ASSERT_TRUE(cancel(id, alice).ok());
  EXPECT_EQ(quiet().orders.size(), 1u);  // none left
}

TEST_F(Live, AvailabilityGoesOutOnATickOnlyWhenItChanged) {
  ASSERT_TRUE(create("hot", 100).ok());
  watch("product:hot", "", false, 1);
  ASSERT_EQ(answers(1).answers.at(0).second->available, 100);
  advance_s(1);  // a tick with no change: nothing
  EXPECT_TRUE(quiet().availability_seen.empty());
  ASSERT_TRUE(add("bob", "hot", 3).ok());
  ASSERT_TRUE(add("cat", "hot", 2).ok());
  advance_s(1);
  auto& s = availability(1);
  ASSERT_EQ(quiet().availability_seen.size(), 1u);  // two changes, one message: the latest
  EXPECT_EQ(s.availability_seen[0], (std::pair<std::string, int64_t>{"hot", 95}));
}

}  // namespace
}  // namespace stampede
