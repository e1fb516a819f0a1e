// A shard's inbox: a moodycamel ConcurrentQueue of messages that any thread may post to
// and only the owning shard drains, in bulk. `depth` counts posted-but-not-taken messages
// exactly; it drives both the wake-up (posted when it goes 0 -> 1, so an idle shard wakes
// and a busy one is never woken twice) and admission control. Thread-safety: post() and
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
    if (depth_.fetch_add(1, std::memory_order_seq_cst) == 0) wake_();
  }

  // Posts n messages in one bulk enqueue (one wake-up at most). `token` is the caller's
  // producer token for this mailbox; messages in [first, first + n) are moved from.
  void post_bulk(moodycamel::ProducerToken& token, Message* first, size_t n) {
    if (n == 0) return;
    queue_.enqueue_bulk(token, std::make_move_iterator(first), n);
    if (depth_.fetch_add(static_cast<int64_t>(n), std::memory_order_seq_cst) == 0) wake_();
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

 private:
  moodycamel::ConcurrentQueue<Message> queue_;
  alignas(64) std::atomic<int64_t> depth_{0};
  absl::AnyInvocable<void()> wake_;
};

}  // namespace stampede
