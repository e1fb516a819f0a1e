// Idempotency keys (issue 9): answers are kept compact, what one customer may pin is bounded
// in keys and in bytes, and the refusal past the bound says what it is and when it ends.
#include <gtest/gtest.h>

#include <future>

#include "core/codec.h"
#include "core/idempotency.h"
#include "core/shard.h"
#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

constexpr int64_t t0 = 1'795'000'000'000;

idempotency_kept kept(std::string user, int n, int64_t at_ms, std::string answer = "\x01") {
  return idempotency_kept{std::move(user), "POST /v1/orders\nk" + std::to_string(n),
                          static_cast<uint64_t>(n), at_ms, answer_kind::order,
                          std::move(answer)};
}

idempotency_scope scope(int n) {
  return idempotency_scope{"POST /v1/orders\nk" + std::to_string(n), static_cast<uint64_t>(n)};
}

TEST(IdempotencyStore, PastTheKeyBoundANewKeyIsRefusedSayingWhatAndUntilWhen) {
  idempotency_store store;
  store.keep(kept("alice", 0, t0));
  for (int n = 1; n < static_cast<int>(limits::idempotency_keys_per_user_max); ++n)
    store.keep(kept("alice", n, t0 + 60'000));
  int64_t now_ms = t0 + 120'000;
  auto l = store.check("alice", scope(-1), now_ms);
  ASSERT_EQ(l.what, idempotency_store::verdict::full);
  ASSERT_TRUE(l.refusal.has_value());
  EXPECT_EQ(l.refusal->code, error_code::rate_limited);
  // Until the oldest key is forgotten, in whole seconds rounded up (Retry-After).
  int64_t frees_in_ms = t0 + limits::idempotency_retention_ms - now_ms;
  EXPECT_EQ(l.refusal->details.retry_after_s, (frees_in_ms + 999) / 1000);
  EXPECT_NE(l.refusal->message.find("Idempotency-Key"), std::string::npos) << l.refusal->message;
  EXPECT_NE(l.refusal->message.find(std::to_string(limits::idempotency_keys_per_user_max)),
            std::string::npos);
  EXPECT_EQ(l.refusal->message.find("in flight"), std::string::npos);
  // A key already kept is still answered, and another customer is not limited.
  EXPECT_EQ(store.check("alice", scope(7), now_ms).what, idempotency_store::verdict::replay);
  EXPECT_EQ(store.check("bob", scope(-1), now_ms).what, idempotency_store::verdict::run);
  // Once the oldest is forgotten, there is room again.
  store.expire(t0 + limits::idempotency_retention_ms + 1);
  EXPECT_EQ(store.check("alice", scope(-1), t0 + limits::idempotency_retention_ms + 1).what,
            idempotency_store::verdict::run);
}

TEST(IdempotencyStore, LargeAnswersMeetTheByteBoundLongBeforeTheKeyBound) {
  idempotency_store store;
  const std::string answer(64 * 1024, 'x');
  int n = 0;
  while (store.check("alice", scope(n), t0).what == idempotency_store::verdict::run) {
    store.keep(kept("alice", n, t0, answer));
    ++n;
    ASSERT_LT(n, static_cast<int>(limits::idempotency_keys_per_user_max));
  }
  auto [keys, bytes] = store.pinned_by("alice");
  EXPECT_EQ(keys, static_cast<size_t>(n));
  EXPECT_GE(bytes, limits::idempotency_bytes_per_user_max);
  EXPECT_LT(bytes, limits::idempotency_bytes_per_user_max + answer.size() + 1024);
  // Keeping an answer again under the same key replaces it: it is not counted twice.
  store.keep(kept("alice", 0, t0, answer));
  EXPECT_EQ(store.pinned_by("alice").second, bytes);
  auto l = store.check("alice", scope(-1), t0);
  ASSERT_TRUE(l.refusal.has_value());
  EXPECT_NE(l.refusal->message.find("MiB"), std::string::npos) << l.refusal->message;
}

// A log that keeps the payload size of every stored answer it is given.
class answer_sizing_log final : public effect_log {
 public:
  explicit answer_sizing_log(std::shared_ptr<std::vector<size_t>> sizes) : sizes_(std::move(sizes)) {}
  uint64_t append(const effect& e) override {
    std::string payload;
    std::visit([&payload](const auto& x) { codec::encode(payload, x); }, e);
    if (std::holds_alternative<idempotency_kept>(e) || std::holds_alternative<idempotency_stored>(e))
      sizes_->push_back(payload.size());
    return ++appended_;
  }
  void flush() override { durable_ = appended_; }
  uint64_t durable_lsn() const override { return durable_; }

 private:
  std::shared_ptr<std::vector<size_t>> sizes_;
  uint64_t appended_ = 0;
  uint64_t durable_ = 0;
};

// Before the engine (a base constructed first), so that its logs can share it.
struct answer_sizes {
  std::shared_ptr<std::vector<size_t>> sizes_ = std::make_shared<std::vector<size_t>>();
};

class IdempotentAdds : public ::testing::Test, public answer_sizes, public testing::engine_fixture {
 protected:
  IdempotentAdds()
      : engine_fixture(1, 600, 900, [s = sizes_] { return std::make_unique<answer_sizing_log>(s); }) {}
  // A cart of cart_lines_max lines, each with a long name.
  void fill_cart(const std::string& user) {
    for (size_t i = 0; i < limits::cart_lines_max; ++i) {
      product_create c;
      c.id = "sku-" + std::to_string(i);
      c.name = "A product with a name of some length, number " + std::to_string(i);
      c.price = 1000;
      c.on_hand = 100'000;
      ASSERT_TRUE(create(std::move(c)).ok());
      step();
      ASSERT_TRUE(add(user, "sku-" + std::to_string(i), 1).ok());
    }
  }
  // Keeps a customer under the per-user request rate.
  void step() { clock_.advance_ms(60); }
  std::pair<size_t, size_t> pinned_by(const std::string& user) {
    std::promise<std::pair<size_t, size_t>> p;
    engine_.shard_at(0).post(shard_task{[&](shard& s) { p.set_value(s.idempotency().pinned_by(user)); }});
    return p.get_future().get();
  }
};

TEST_F(IdempotentAdds, AKeyedAddLogsNoCopyOfTheCartYetReplaysTheWholeCart) {
  fill_cart("alice");
  step();
  auto first = add("alice", "sku-0", 1, "k-1");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->value.items.size(), limits::cart_lines_max);
  ASSERT_EQ(sizes_->size(), 1u);
  std::string cart_bytes;
  codec::encode(cart_bytes, first->value);
  EXPECT_GT(cart_bytes.size(), 5000u);
  EXPECT_LT(sizes_->front(), 200u) << "the stored answer of an add repeats the cart";
  step();
  auto again = add("alice", "sku-0", 1, "k-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->value, first->value);
}

TEST_F(IdempotentAdds, OneCustomerWithABigCartPinsAtMostTheByteBound) {
  fill_cart("alice");
  size_t accepted = 0;
  result<idempotent<cart_view>> r = add("alice", "sku-0", 1, "k-0");
  while (r.ok()) {
    ++accepted;
    ASSERT_LT(accepted, limits::idempotency_keys_per_user_max);
    step();
    r = add("alice", "sku-0", 1, "k-" + std::to_string(accepted));
  }
  EXPECT_EQ(r.code(), error_code::rate_limited);
  ASSERT_TRUE(r.err().details.retry_after_s.has_value());
  EXPECT_GT(*r.err().details.retry_after_s, 86'000);  // the first key is a minute old at most
  auto [keys, bytes] = pinned_by("alice");
  EXPECT_EQ(keys, accepted);
  EXPECT_LT(bytes, limits::idempotency_bytes_per_user_max + 16 * 1024);
  // A request without a key, or by someone else, is not limited by it.
  step();
  EXPECT_TRUE(add("alice", "sku-1", 1).ok());
  EXPECT_TRUE(add("bob", "sku-1", 1, "k-0").ok());
}

}  // namespace
}  // namespace stampede
