#include "core/mailbox.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace stampede {
namespace {

TEST(Mailbox, WakesOnlyWhenItGoesFromEmptyToNonEmpty) {
  int wakes = 0;
  mailbox<int> box([&] { ++wakes; });
  box.post(1);
  box.post(2);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(box.depth(), 2);
  int out[8];
  auto [n, more] = box.take(out, 8);
  EXPECT_EQ(n, 2u);
  EXPECT_FALSE(more);
  box.post(3);
  EXPECT_EQ(wakes, 2);
}

// The rule that once lost a wake-up: the owner may take a message before its producer has
// counted it (depth -1); a bulk post of 3 then moves depth from -1 to 2 without passing
// through 0, and must still wake the owner. "Woken on 0 -> 1" missed exactly this.
TEST(Mailbox, APostThatCrossesFromNonPositiveToPositiveWakes) {
  using box = mailbox<int>;
  static_assert(box::wakes(0, 1));
  static_assert(box::wakes(-1, 3));   // the bulk jump over zero
  static_assert(!box::wakes(-1, 1));  // lands on 0: its message was already taken
  static_assert(!box::wakes(1, 1));   // already non-empty: the owner is awake or woken
  static_assert(!box::wakes(-3, 2));
  SUCCEED();
}

TEST(Mailbox, TakeSaysWhenMoreIsWaiting) {
  mailbox<int> box([] {});
  for (int i = 0; i < 10; ++i) box.post(int{i});
  int out[4];
  auto [n, more] = box.take(out, 4);
  EXPECT_EQ(n, 4u);
  EXPECT_TRUE(more);
  EXPECT_EQ(box.depth(), 6);
}

// Four producers (two posting one at a time, two in bulk) and one consumer that sleeps
// until woken: no message is lost and no wake-up is missed.
TEST(Mailbox, NoMessageIsLostWithManyProducers) {
  constexpr int producers = 4, per_producer = 50'000;
  std::atomic<int> signals{0};
  mailbox<int> box([&] {
    signals.fetch_add(1, std::memory_order_release);
    signals.notify_one();
  });
  std::atomic<long long> sum{0};
  std::atomic<int> received{0};
  std::thread consumer([&] {
    int seen = 0;
    int buf[256];
    while (received.load() < producers * per_producer) {
      signals.wait(seen);
      seen = signals.load(std::memory_order_acquire);
      for (;;) {
        auto [n, more] = box.take(buf, 256);
        for (size_t i = 0; i < n; ++i) sum += buf[i];
        received += static_cast<int>(n);
        if (!more) break;
      }
    }
  });
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      if (p % 2 == 0) {
        for (int i = 1; i <= per_producer; ++i) box.post(int{i});
        return;
      }
      // Half the producers post in bulk, as shards do at the end of a pass.
      auto token = box.make_producer_token();
      int batch[7];
      for (int i = 1; i <= per_producer;) {
        int n = 0;
        while (n < 7 && i <= per_producer) batch[n++] = i++;
        box.post_bulk(token, batch, static_cast<size_t>(n));
      }
    });
  for (auto& t : threads) t.join();
  consumer.join();
  EXPECT_EQ(received.load(), producers * per_producer);
  EXPECT_EQ(sum.load(), static_cast<long long>(producers) * per_producer * (per_producer + 1) / 2);
}

}  // namespace
}  // namespace stampede
