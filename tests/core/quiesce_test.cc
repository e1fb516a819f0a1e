// engine::quiesce (the fixture's settle(), and advance_s's end) answers only once no
// stock can move without a new request. Found under TSan in the random workload
// (concurrency_test.cc): its audit saw an order canceled on the user's shard whose units
// the product's shard still counted as committed. settle() had answered while a user's
// turn was taken, with the timer's cancel of that user's unpaid order queued behind it: it
// counted only the moves in flight and the records waiting to be durable.
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

// A gateway that keeps every charge until the test answers it.
class held_gateway final : public payment_gateway {
 public:
  void charge(charge_request, absl::AnyInvocable<void(charge_outcome)> done) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
    changed_.notify_all();
  }
  void wait_for_charges(size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return held_.size() >= n; });
  }
  void answer_all(const charge_outcome& outcome) {
    std::vector<absl::AnyInvocable<void(charge_outcome)>> answers;
    {
      std::lock_guard lock(mu_);
      answers.swap(held_);
    }
    for (auto& done : answers) done(outcome);
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<absl::AnyInvocable<void(charge_outcome)>> held_;
};

// The gateway is a base before the fixture, so it is built before the engine and outlives it.
struct with_held_gateway {
  held_gateway gateway;
};

class Quiesce : public ::testing::Test, public with_held_gateway, public testing::engine_fixture {
 protected:
  Quiesce() : engine_fixture(2, 600, 900, nullptr, &gateway) { EXPECT_TRUE(create(sku, 5).ok()); }
  // The user lives on shard 0, the product on shard 1.
  const std::string user = user_on(0);
  const std::string sku = product_on(1);
};

TEST_F(Quiesce, WaitsForAUsersTurnAndTheTimersWorkQueuedBehindIt) {
  ASSERT_TRUE(add(user, sku, 2).ok());
  auto placed = checkout(user);
  ASSERT_TRUE(placed.ok());
  // A charge at the gateway holds the user's turn ...
  auto paying = call_later<idempotent<payment_result>>([&](auto done) {
    payment_request r;
    r.method = "paypal";
    r.amount = placed->value.total;
    engine_.pay_order(placed->value.id, user, r, std::nullopt, std::move(done));
  });
  gateway.wait_for_charges(1);
  // ... and the timer's cancel of the unpaid order waits behind it.
  clock_.advance_ms(901'000);  // past --payment-ttl
  engine_.shard_at(0).post(shard_task{[](shard& s) { s.tick(); }});
  passes_done(0);
  auto settled = call_later<ok_t>([&](auto done) { engine_.quiesce(std::move(done)); });
  passes_done(0);
  passes_done(1);
  passes_done(0);
  EXPECT_FALSE(ready(settled)) << "quiesce answered while a user's turn was taken";

  charge_outcome declined;
  declined.failure_reason = "card_declined";
  gateway.answer_all(declined);
  ASSERT_TRUE(settled.get().ok());
  auto paid = paying.get();
  ASSERT_TRUE(paid.ok());
  EXPECT_EQ(paid->value.pay.status, payment_status::failed);
  // No settle() before this audit: quiesce's answer is the point.
  auto a = call<stock_audit>([&](auto done) { engine_.audit(std::move(done)); });
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->at(sku).committed, 0) << "the canceled order's units are still committed";
  EXPECT_EQ(a->at(sku).in_live_orders, 0);
  EXPECT_EQ(a->at(sku).reserved, 0);
  auto o = get_order(placed->value.id, user);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, order_status::canceled);
}

TEST_F(Quiesce, AnswersAtOnceWhenNothingIsUnderWay) {
  ASSERT_TRUE(add(user, sku, 2).ok());
  ASSERT_TRUE(checkout(user).ok());
  auto settled = call_later<ok_t>([&](auto done) { engine_.quiesce(std::move(done)); });
  ASSERT_TRUE(settled.get().ok());
  auto a = call<stock_audit>([&](auto done) { engine_.audit(std::move(done)); });
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->at(sku).committed, 2);
  EXPECT_EQ(a->at(sku).in_live_orders, 2);
}

}  // namespace
}  // namespace stampede
