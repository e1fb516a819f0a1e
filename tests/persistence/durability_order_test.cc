// "Durable before it frees stock" (DESIGN.md), tested on the interleaving itself: with a
// log whose syncs the test releases by hand, a release (line removed, order canceled) must
// not reach the product's shard, and an on_hand increase must not become grantable, until
// the record behind it is durable. Answers may go first only with --durability async.
#include <atomic>
#include <future>
#include <thread>

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/shard.h"

namespace stampede {
namespace {

// Appends go nowhere; a record is durable only when the test says so.
class held_log final : public effect_log {
 public:
  uint64_t append(const effect&) override { return ++appended_; }
  void flush() override {}
  uint64_t durable_lsn() const override { return durable_; }
  void mark_durable(uint64_t lsn) override { durable_ = std::max(durable_, lsn); }
  std::atomic<uint64_t> appended_{0};
  uint64_t durable_ = 0;
};

class DurableBeforeRelease : public ::testing::Test {
 protected:
  DurableBeforeRelease() : eng(config()) {
    std::vector<recovered_shard> shards(2);
    for (int i = 0; i < 2; ++i) {
      auto log = std::make_unique<held_log>();
      logs[i] = log.get();
      shards[i].log = std::move(log);
    }
    EXPECT_EQ(eng.restore(std::move(shards)), "");
    eng.start();
    // A user and a product on different shards.
    for (int n = 0; user.empty(); ++n)
      if (eng.routes().user_shard("u" + std::to_string(n)) == 0) user = "u" + std::to_string(n);
    for (int n = 0; product.empty(); ++n)
      if (eng.routes().product_shard("p" + std::to_string(n)) == 1) product = "p" + std::to_string(n);
  }
  ~DurableBeforeRelease() override {
    eng.stop();
    pool.join();
  }
  engine_config config() {
    engine_config c{2, 600, 900, &clock, false};
    c.answer_before_durable = true;  // --durability async: answers go first, releases never
    c.user_requests_per_s = 0;
    return c;
  }
  // Makes everything shard i has recorded so far durable, as its I/O thread would.
  // Read on the shard's thread, after everything this test sent it before: one producer's
  // messages arrive in order, but writes run after the pass's other messages (admission by
  // queueing time, core/write_queue.h), so the task goes round the mailbox once more to
  // come after the writes of the pass it arrived in.
  void sync(int i) {
    std::promise<void> done;
    eng.shard_at(i).post(shard_task{[log = logs[i], &done](shard& s) {
      s.post(shard_task{[log, &done](shard& again) {
        again.on_log_synced(log->appended_.load());
        done.set_value();
      }});
    }});
    done.get_future().wait();
  }
  template <class T, class F>
  std::future<result<T>> start(F&& f) {
    auto p = std::make_shared<std::promise<result<T>>>();
    auto fut = p->get_future();
    f(reply<T>(pool.get_executor(), [p](result<T> r) { p->set_value(std::move(r)); }));
    return fut;
  }
  product_view admin_view() {
    return start<product_view>([&](auto d) { eng.get_product(product, true, std::move(d)); }).get().value();
  }
  // Reads the product a few times over 50 ms: a release that should not happen has had
  // every chance to.
  void expect_reserved_stays(int64_t reserved) {
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ASSERT_EQ(admin_view().reserved, reserved);
    }
  }

  manual_clock clock;
  engine eng;
  held_log* logs[2] = {};
  boost::asio::thread_pool pool{1};
  std::string user, product;
};

TEST_F(DurableBeforeRelease, ARemovedLineReleasesItsUnitsOnlyOnceTheRemovalIsDurable) {
  product_create c{product, "P", "", 100, {}, 10};
  auto created = start<product_view>([&](auto d) { eng.create_product(c, std::move(d)); });
  sync(1);
  ASSERT_TRUE(created.get().ok());
  ASSERT_TRUE((start<idempotent<cart_view>>([&](auto d) { eng.add_item(user, product, 3, std::nullopt, std::move(d)); }).get().ok()));
  sync(0);
  ASSERT_EQ(admin_view().reserved, 3);
  // The removal is answered (async mode) but not durable: the units stay held.
  ASSERT_TRUE((start<cart_view>([&](auto d) { eng.remove_item(user, product, std::move(d)); }).get().ok()));
  expect_reserved_stays(3);
  sync(0);
  for (int i = 0; i < 5000 && admin_view().reserved != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(admin_view().reserved, 0);
}

TEST_F(DurableBeforeRelease, ACanceledOrderReturnsItsUnitsOnlyOnceTheCancelIsDurable) {
  product_create c{product, "P", "", 100, {}, 10};
  auto created = start<product_view>([&](auto d) { eng.create_product(c, std::move(d)); });
  sync(1);
  ASSERT_TRUE(created.get().ok());
  ASSERT_TRUE((start<idempotent<cart_view>>([&](auto d) { eng.add_item(user, product, 2, std::nullopt, std::move(d)); }).get().ok()));
  auto adr = start<address>([&](auto d) { eng.add_address(user, address{"", "N", "L", "", "C", "", "1", "GB", ""}, std::move(d)); }).get();
  auto placed = start<idempotent<order>>([&](auto d) { eng.place_order(user, checkout_request{adr->id, "", "standard"}, std::nullopt, std::move(d)); }).get();
  ASSERT_TRUE(placed.ok());
  sync(0);
  for (int i = 0; i < 5000 && admin_view().committed != 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(admin_view().committed, 2);
  ASSERT_TRUE((start<order>([&](auto d) { eng.cancel_order(placed->value.id, user, false, std::move(d)); }).get().ok()));
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(admin_view().committed, 2);
  }
  sync(0);
  for (int i = 0; i < 5000 && admin_view().committed != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(admin_view().committed, 0);
}

TEST_F(DurableBeforeRelease, NewStockIsGrantableOnlyOnceItsRecordIsDurable) {
  product_create c{product, "P", "", 100, {}, 1};
  auto created = start<product_view>([&](auto d) { eng.create_product(c, std::move(d)); });
  sync(1);
  ASSERT_TRUE(created.get().ok());
  // +5 is recorded but not durable: nothing more may be granted, and the admin waits.
  auto adjusted = start<product_view>([&](auto d) { eng.adjust_stock(product, 5, std::move(d)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(adjusted.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  auto r = start<idempotent<cart_view>>([&](auto d) { eng.add_item(user, product, 2, std::nullopt, std::move(d)); }).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::out_of_stock);
  EXPECT_EQ(r.err().details.available, 1);
  sync(1);
  EXPECT_EQ(adjusted.get()->on_hand, 6);
  EXPECT_TRUE((start<idempotent<cart_view>>([&](auto d) { eng.add_item(user, product, 2, std::nullopt, std::move(d)); }).get().ok()));
}

TEST_F(DurableBeforeRelease, InFsyncModeTheAnswerWaitsForTheRecord) {
  // A second engine in the default mode: nothing is answered before its record is durable.
  manual_clock clock2;
  engine_config c2{2, 600, 900, &clock2, false};
  c2.user_requests_per_s = 0;
  engine strict(c2);
  std::vector<recovered_shard> shards(2);
  held_log* l[2];
  for (int i = 0; i < 2; ++i) {
    auto log = std::make_unique<held_log>();
    l[i] = log.get();
    shards[i].log = std::move(log);
  }
  ASSERT_EQ(strict.restore(std::move(shards)), "");
  strict.start();
  auto sync_strict = [&](int i) {
    strict.shard_at(i).post(shard_task{[log = l[i]](shard& s) { s.on_log_synced(log->appended_.load()); }});
  };
  auto answered = start<address>([&](auto d) { strict.add_address(user, address{"", "N", "L", "", "C", "", "1", "GB", ""}, std::move(d)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(answered.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  sync_strict(0);
  sync_strict(1);
  EXPECT_TRUE(answered.get().ok());
  strict.stop();
}

// A webhook registration is answered (in both modes) only once every shard's record of it
// is durable: a registration the admin was told of must not vanish in a crash.
TEST_F(DurableBeforeRelease, AWebhookRegistrationIsAnsweredOnlyOnceEveryShardSyncedIt) {
  auto added = start<webhook>([&](auto d) {
    eng.add_webhook(webhook{"", "http://127.0.0.1:9/x", "secret-123", {"order.*"}, 0}, std::move(d));
  });
  sync(0);
  EXPECT_EQ(added.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  sync(1);
  ASSERT_EQ(added.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(added.get().ok());
}

}  // namespace
}  // namespace stampede
