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

// An engine on two held logs. `async`: --durability async (answers go first, releases
// never); else the default, where nothing is answered before its record is durable.
struct held_engine {
  held_engine(manual_clock& clock, bool async) : eng(config(clock, async)) {
    std::vector<recovered_shard> shards(2);
    for (int i = 0; i < 2; ++i) {
      auto log = std::make_unique<held_log>();
      logs[i] = log.get();
      shards[i].log = std::move(log);
    }
    EXPECT_EQ(eng.restore(std::move(shards)), "");
    eng.start();
  }
  ~held_engine() { eng.stop(); }
  static engine_config config(manual_clock& clock, bool async) {
    engine_config c{2, 600, 900, &clock, false};
    c.answer_before_durable = async;
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
  // Syncs both shards until `f` is ready (a change may need one shard's record, then the
  // other's), for at most 5 s.
  template <class F>
  bool sync_until_ready(F& f) {
    for (int round = 0; round < 500; ++round) {
      sync(0);
      sync(1);
      if (f.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) return true;
    }
    return false;
  }
  engine eng;
  held_log* logs[2] = {};
};

class DurableBeforeRelease : public ::testing::Test {
 protected:
  DurableBeforeRelease() {
    // A user and a product on different shards.
    for (int n = 0; user.empty(); ++n)
      if (eng.routes().user_shard("u" + std::to_string(n)) == 0) user = "u" + std::to_string(n);
    for (int n = 0; product.empty(); ++n)
      if (eng.routes().product_shard("p" + std::to_string(n)) == 1) product = "p" + std::to_string(n);
  }
  ~DurableBeforeRelease() override { pool.join(); }
  void sync(int i) { held.sync(i); }
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
  held_engine held{clock, true};
  engine& eng = held.eng;
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
  manual_clock clock2;
  held_engine strict(clock2, /*async=*/false);
  auto answered = start<address>([&](auto d) { strict.eng.add_address(user, address{"", "N", "L", "", "C", "", "1", "GB", ""}, std::move(d)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(answered.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  strict.sync(0);
  strict.sync(1);
  EXPECT_TRUE(answered.get().ok());
}

// A repeat of a keyed request whose first is still waiting for its records is not told
// "done" before the first could be: a crash (or, in a cluster, a takeover) could still lose
// the change. Both answers go once the records are durable, the repeat's replayed.
TEST_F(DurableBeforeRelease, ARepeatedKeyIsAnsweredOnlyOnceTheFirstRequestsRecordsAreDurable) {
  manual_clock clock2;
  held_engine strict(clock2, /*async=*/false);
  auto created = start<product_view>([&](auto d) {
    strict.eng.create_product(product_create{product, "P", "", 100, {}, 10}, std::move(d));
  });
  ASSERT_TRUE(strict.sync_until_ready(created));
  ASSERT_TRUE(created.get().ok());
  auto add = [&] {
    return start<idempotent<cart_view>>([&](auto d) { strict.eng.add_item(user, product, 3, "k-1", std::move(d)); });
  };
  auto first = add();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(first.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  auto repeat = add();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(repeat.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the repeat was answered before the first request's records were durable";
  ASSERT_TRUE(strict.sync_until_ready(first));
  ASSERT_TRUE(strict.sync_until_ready(repeat));
  auto a = first.get();
  auto b = repeat.get();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(a->replayed);
  EXPECT_TRUE(b->replayed);
  EXPECT_EQ(b->value.item_count, 3);
  EXPECT_EQ(a->value.item_count, 3);
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
