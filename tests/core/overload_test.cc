// Admission control of writes by queueing time, seen through the engine (issue 9,
// "Overload"): a write that waited past its deadline is refused without running, reads go
// ahead of queued writes, and a write whose client left is not run. The shard is held busy
// by a handler on its loop, so what queues behind it does so deterministically.
#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include "core/engine.h"

namespace stampede {
namespace {

class busy_engine {
 public:
  explicit busy_engine(write_gate_config writes = {}) : engine_(config(writes)) { engine_.start(); }
  ~busy_engine() {
    release();
    engine_.stop();
    pool_.join();
  }

  // Holds shard 0's thread until release(): what is sent to it meanwhile waits.
  void hold() {
    held_ = std::promise<void>();
    std::promise<void> holding;
    boost::asio::post(engine_.io(0), [&holding, gate = held_.get_future().share()] {
      holding.set_value();
      gate.wait();
    });
    holding.get_future().wait();
    holding_ = true;
  }
  void release() {
    if (!holding_) return;
    holding_ = false;
    held_.set_value();
  }

  template <class T>
  reply<T> record(std::string name, std::promise<result<T>>& out,
                  std::shared_ptr<const std::atomic<bool>> gone = nullptr) {
    reply<T> r(pool_.get_executor(), [this, name, &out](result<T> v) {
      {
        std::lock_guard lock(mutex_);
        order_.push_back(name);
      }
      out.set_value(std::move(v));
    });
    if (gone) r.watch(std::move(gone));
    return r;
  }
  std::vector<std::string> order() {
    std::lock_guard lock(mutex_);
    return order_;
  }

  template <class T, class F>
  result<T> call(F&& f) {
    std::promise<result<T>> p;
    f(reply<T>(pool_.get_executor(), [&p](result<T> r) { p.set_value(std::move(r)); }));
    return p.get_future().get();
  }
  product_view admin_product(const std::string& id) {
    return call<product_view>([&](auto done) { engine_.get_product(id, true, std::move(done)); }).value();
  }
  cart_view cart(const std::string& user) {
    return call<cart_view>([&](auto done) { engine_.get_cart(user, std::move(done)); }).value();
  }

  engine& eng() { return engine_; }

 private:
  static engine_config config(write_gate_config writes) {
    engine_config c;
    c.shards = 1;
    c.run_timers = false;
    c.user_requests_per_s = 0;
    c.writes = writes;
    return c;
  }
  engine engine_;
  boost::asio::thread_pool pool_{1};
  std::promise<void> held_;
  bool holding_ = false;
  std::mutex mutex_;
  std::vector<std::string> order_;
};

void create(busy_engine& e, const std::string& id, int64_t on_hand) {
  product_create c;
  c.id = id;
  c.name = id;
  c.price = 100;
  c.on_hand = on_hand;
  ASSERT_TRUE(e.call<product_view>([&](auto done) { e.eng().create_product(c, std::move(done)); }).ok());
}

TEST(Overload, AWriteThatWaitedPastItsDeadlineIsRefusedAndNotRun) {
  busy_engine e(write_gate_config{.target_ns = 1'000'000, .interval_ns = 20'000'000});
  create(e, "sku", 10);
  e.hold();
  std::promise<result<idempotent<cart_view>>> added;
  e.eng().add_item("late-user", "sku", 3, std::nullopt, e.record("add", added));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // 5 deadlines
  e.release();
  auto r = added.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::overloaded);
  // Not run: no hold taken, no cart line.
  EXPECT_EQ(e.admin_product("sku").reserved, 0);
  EXPECT_TRUE(e.cart("late-user").items.empty());
}

// Deadlines far beyond any scheduling delay, for the tests in which the write must run or be
// refused for another reason than its deadline.
constexpr write_gate_config patient{.target_ns = 10'000'000'000, .interval_ns = 10'000'000'000};

TEST(Overload, AWriteThatStartsInTimeRuns) {
  busy_engine e(patient);
  create(e, "sku", 10);
  e.hold();
  std::promise<result<idempotent<cart_view>>> added;
  e.eng().add_item("prompt-user", "sku", 3, std::nullopt, e.record("add", added));
  e.release();
  ASSERT_TRUE(added.get_future().get().ok());
  EXPECT_EQ(e.admin_product("sku").reserved, 3);
}

TEST(Overload, ReadsGoAheadOfQueuedWrites) {
  busy_engine e(patient);
  create(e, "sku", 10);
  e.hold();
  std::promise<result<idempotent<cart_view>>> added;
  std::promise<result<product_view>> read;
  std::promise<result<cart_view>> cart_read;
  e.eng().add_item("writer", "sku", 4, std::nullopt, e.record("write", added));
  e.eng().get_product("sku", true, e.record("product read", read));
  e.eng().get_cart("writer", e.record("cart read", cart_read));
  e.release();
  auto product = read.get_future().get();
  ASSERT_TRUE(product.ok());
  ASSERT_TRUE(added.get_future().get().ok());
  ASSERT_TRUE(cart_read.get_future().get().ok());
  EXPECT_EQ(e.order(), (std::vector<std::string>{"product read", "cart read", "write"}));
  EXPECT_EQ(product->reserved, 0);  // read before the write ran, though sent after it
}

TEST(Overload, AWriteWhoseClientLeftIsNotRun) {
  busy_engine e(patient);
  create(e, "sku", 10);
  e.hold();
  auto gone = std::make_shared<std::atomic<bool>>(false);
  std::promise<result<idempotent<cart_view>>> added;
  e.eng().add_item("leaver", "sku", 2, std::nullopt, e.record("add", added, gone));
  gone->store(true);  // the connection closed while the write waited
  e.release();
  auto r = added.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::overloaded);
  EXPECT_EQ(e.admin_product("sku").reserved, 0);
  EXPECT_TRUE(e.cart("leaver").items.empty());
}

// Sockets that are always ready (thousands of busy connections) were a pass of the shard's
// loop that never ended: a write or a message waited behind it for as long as the load
// lasted. Here a handler that re-posts itself stands for them: a pass always has one more.
// `on_shard` runs once on the shard's thread, from within the pass, as a request read there.
class endless_door {
 public:
  endless_door(engine& e, std::function<void()> on_shard)
      : io_(e.io(0)), on_shard_(std::move(on_shard)) {
    boost::asio::post(io_, [this] { step(); });
  }
  ~endless_door() {
    stop_ = true;
    stopped_.get_future().wait();
  }
  uint64_t reads() const { return reads_.load(); }

 private:
  void step() {
    if (stop_) return stopped_.set_value();
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    while (std::chrono::steady_clock::now() < until) {
    }
    if (++reads_ == 100 && on_shard_) on_shard_();
    boost::asio::post(io_, [this] { step(); });
  }
  boost::asio::io_context& io_;
  std::function<void()> on_shard_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> reads_{0};
  std::promise<void> stopped_;
};

// A write sent while the pass runs, from the shard's own sockets (it joins the write queue
// at once) or from outside (it waits in the mailbox), must run though the pass never runs
// out of sockets, and the sockets must go on being read.
void a_write_runs_during_an_endless_pass(bool from_the_shard) {
  std::promise<result<idempotent<cart_view>>> added;  // outlives the engine
  // The wait a write is allowed is far beyond the pass's limit (the target) and any
  // scheduling delay: the write must run, not expire.
  busy_engine e(write_gate_config{.target_ns = 20'000'000, .interval_ns = 10'000'000'000});
  create(e, "sku", 10);
  auto answer = added.get_future();
  auto send = [&] { e.eng().add_item("writer", "sku", 2, std::nullopt, e.record("add", added)); };
  {
    endless_door door(e.eng(), from_the_shard ? std::function<void()>(send) : nullptr);
    while (door.reads() < 100) std::this_thread::yield();  // the pass is under way
    if (!from_the_shard) send();
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "the write never ran while the sockets stayed ready";
    auto r = answer.get();
    ASSERT_TRUE(r.ok()) << static_cast<int>(r.code());
    uint64_t before = door.reads();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (door.reads() < before + 100 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    EXPECT_GE(door.reads(), before + 100) << "the sockets were no longer read";
  }
  EXPECT_EQ(e.admin_product("sku").reserved, 2);
}

TEST(Overload, AWriteFromTheShardsSocketsRunsThoughTheyAreNeverAllRead) {
  a_write_runs_during_an_endless_pass(true);
}

TEST(Overload, AWriteFromAnotherThreadRunsThoughTheShardsSocketsAreNeverAllRead) {
  a_write_runs_during_an_endless_pass(false);
}

}  // namespace
}  // namespace stampede
