// A follower's products' counts (core/replica_ops.h) when a user's record is applied before
// the record of the product it claims: the claim waits on the product's shard, which goes
// on draining its mailbox (the product's record arrives through it) and adds the claim once
// the product is there. The shards run their real loops; no NATS.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/replica_ops.h"
#include "core/shard.h"

namespace stampede {
namespace {

// Far longer than a healthy shard needs to run a task; a livelocked one never does.
constexpr auto task_wait = std::chrono::seconds(10);

// A follower's log, as persistence/replicated_log.h's follower_log (which lives beside
// libnats): it records nothing, and counts each applied record durable.
class applied_log final : public effect_log {
 public:
  uint64_t append(const effect&) override {
    ADD_FAILURE() << "a follower recorded an effect";
    return applied_;
  }
  void flush() override {}
  uint64_t durable_lsn() const override { return applied_; }
  void mark_durable(uint64_t lsn) override { applied_ = lsn; }

 private:
  uint64_t applied_ = 0;
};

class follower_engine {
 public:
  follower_engine() : eng_(config()) {
    std::vector<recovered_shard> logs;
    for (uint32_t i = 0; i < shards; ++i)
      logs.push_back(recovered_shard{std::make_unique<applied_log>()});
    EXPECT_EQ(eng_.restore(std::move(logs)), "");
    for (uint32_t i = 0; i < shards; ++i) eng_.shard_at(i).set_writable(false);
    eng_.start();
  }
  ~follower_engine() { eng_.stop(); }

  // Runs fn on shard i's thread; false when it did not run within task_wait.
  template <class F>
  [[nodiscard]] bool on_shard(uint32_t i, F fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto ran = done->get_future();
    eng_.shard_at(i).post(shard_task{[fn, done](shard& s) mutable {
      fn(s);
      done->set_value();
    }});
    return ran.wait_for(task_wait) == std::future_status::ready;
  }

  // A name that lands on shard i, as a product (or a user).
  std::string product_on(uint32_t i) const {
    for (int n = 0;; ++n)
      if (std::string id = "p" + std::to_string(n); eng_.routes().product_shard(id) == i) return id;
  }
  std::string user_on(uint32_t i) const {
    for (int n = 0;; ++n)
      if (std::string id = "u" + std::to_string(n); eng_.routes().user_shard(id) == i) return id;
  }

  static constexpr uint32_t shards = 2;
  replica_ops::waiting_claims waiting{shards};

 private:
  static engine_config config() {
    engine_config c;
    c.shards = shards;
    return c;
  }
  engine eng_;
};

cart_replaced cart_of(const std::string& user, const std::string& product, int64_t quantity) {
  cart c;
  c.lines.push_back(cart_line{product, "Limited", 1000, quantity, true});
  return cart_replaced{user, c};
}

product_created product(const std::string& id, int64_t on_hand) {
  product_create c;
  c.id = id;
  c.name = "Limited";
  c.price = 1000;
  c.on_hand = on_hand;
  return product_created{c};
}

TEST(ReplicaOps, AClaimThatArrivesBeforeItsProductWaitsWhileTheShardGoesOnDraining) {
  follower_engine f;
  const std::string p = f.product_on(0), u = f.user_on(1);
  // The user's shard applies a cart of 2 of a product its shard has not seen yet, then a
  // cart of 3 (the claims are summed while they wait).
  ASSERT_TRUE(f.on_shard(1, [&](shard& s) {
    replica_ops::apply(s, cart_of(u, p, 2), 1, f.waiting);
    replica_ops::apply(s, cart_of(u, p, 3), 2, f.waiting);
  }));
  // Until both claims are on the product's shard (they come through its mailbox).
  size_t waiting = 0;
  for (int tries = 0; tries < 1000 && waiting == 0; ++tries)
    ASSERT_TRUE(f.on_shard(0, [&](shard&) { waiting = f.waiting.waiting(0); }))
        << "the product's shard stopped draining its mailbox";
  EXPECT_EQ(waiting, 1u);
  // The product's own record comes next on its shard; its counts then hold the claim.
  ASSERT_TRUE(f.on_shard(0, [&](shard& s) { replica_ops::apply(s, product(p, 10), 1, f.waiting); }))
      << "the product's shard stopped draining its mailbox";
  int64_t reserved = -1;
  ASSERT_TRUE(f.on_shard(0, [&](shard& s) {
    reserved = s.products().find(p)->units.reserved();
    waiting = f.waiting.waiting(0);
  }));
  EXPECT_EQ(reserved, 3);
  EXPECT_EQ(waiting, 0u);
}

TEST(ReplicaOps, AClaimOnAProductAlreadyThereIsAddedAtOnce) {
  follower_engine f;
  const std::string p = f.product_on(0), u = f.user_on(1);
  ASSERT_TRUE(f.on_shard(0, [&](shard& s) { replica_ops::apply(s, product(p, 10), 1, f.waiting); }));
  ASSERT_TRUE(f.on_shard(1, [&](shard& s) { replica_ops::apply(s, cart_of(u, p, 4), 1, f.waiting); }));
  int64_t reserved = 0;
  for (int tries = 0; tries < 1000 && reserved == 0; ++tries)
    ASSERT_TRUE(f.on_shard(0, [&](shard& s) { reserved = s.products().find(p)->units.reserved(); }));
  EXPECT_EQ(reserved, 4);
  size_t waiting = 1;
  ASSERT_TRUE(f.on_shard(0, [&](shard&) { waiting = f.waiting.waiting(0); }));
  EXPECT_EQ(waiting, 0u);
}

}  // namespace
}  // namespace stampede
