// A shard's inbox: a moodycamel ConcurrentQueue of messages that any thread may post to
// and only the owning shard drains, in bulk. `depth` counts posted-but-not-taken messages;
// it drives both the wake-up and admission control. A producer counts its messages after
// enqueueing them, so the owner may take a message before it is counted and depth may dip
// below zero for a moment. The wake-up therefore fires when a post moves depth from <= 0 to
// > 0 (not "from 0"): a bulk post can jump from -1 to 2, and must still wake a sleeper. Thread-safety: post() and
// depth() from any thread; take() only from the owner.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "concurrentqueue/concurrentqueue.h"

namespace stampede {

template <class Message>
class mailbox {
 public:
  // `wake` runs on the posting thread when the mailbox goes from empty to non-empty; it
  // must arrange for the owner to call take() soon (it is asio::post to the shard).
  explicit mailbox(absl::AnyInvocable<void()> wake) : queue_(1024), wake_(std::move(wake)) {}

  void post(Message&& m) {
    queue_.enqueue(std::move(m));
    counted(1);
  }

  // Posts n messages in one bulk enqueue (one wake-up at most). `token` is the caller's
  // producer token for this mailbox; messages in [first, first + n) are moved from.
  void post_bulk(moodycamel::ProducerToken& token, Message* first, size_t n) {
    if (n == 0) return;
    queue_.enqueue_bulk(token, std::make_move_iterator(first), n);
    counted(static_cast<int64_t>(n));
  }
  moodycamel::ProducerToken make_producer_token() { return moodycamel::ProducerToken(queue_); }

  // Owner only: moves up to `max` messages into `out`. Returns how many were taken and
  // whether more are pending (the caller must then call take() again later).
  std::pair<size_t, bool> take(Message* out, size_t max) {
    size_t n = queue_.try_dequeue_bulk(out, max);
    int64_t left = depth_.fetch_sub(static_cast<int64_t>(n), std::memory_order_acq_rel) -
                   static_cast<int64_t>(n);
    // left < 0: a producer's message was taken before its count arrived; that producer
    // sees depth != 0 and does not wake us, which is right since its message is done.
    return {n, left > 0};
  }

  int64_t depth() const { return depth_.load(std::memory_order_relaxed); }

  // Simulation only (tests/sim/): every post hands its count to `defer`, to run when the
  // simulator's scheduler says, instead of counting at once; so the owner can take a
  // message between its enqueue and its count, the interleaving the wake-up rule is about.
  // Set before the first post, on the thread that owns the mailbox; production never does.
  using count_fn = absl::AnyInvocable<void()>;
  void defer_counts(absl::AnyInvocable<void(count_fn)> defer) { defer_ = std::move(defer); }

  // The wake-up rule: does counting n messages onto `before` cross from <= 0 to > 0?
  static constexpr bool wakes(int64_t before, int64_t n) { return before <= 0 && before + n > 0; }

 private:
  void counted(int64_t n) {
    if (defer_) [[unlikely]]
      return defer_([this, n] { count(n); });
    count(n);
  }
  void count(int64_t n) {
    if (wakes(depth_.fetch_add(n, std::memory_order_seq_cst), n)) wake_();
  }

  moodycamel::ConcurrentQueue<Message> queue_;
  alignas(64) std::atomic<int64_t> depth_{0};
  absl::AnyInvocable<void()> wake_;
  absl::AnyInvocable<void(count_fn)> defer_;  // empty outside the simulator
};

}  // namespace stampede
