// How an engine operation answers: the result is handed to a callback on the executor the
// caller named (asio::dispatch: inline when the caller's executor is the current thread's,
// posted otherwise). Move-only; called exactly once, and checked (STAMPEDE_DCHECK): a second
// answer, or a reply destroyed unanswered (a request that would hang until its client gives
// up: Seastar's broken promise), fails the check. The one exception is a shard torn down with
// requests still queued in it (the engine stopped mid-flight): see reply_drop_window.
// A reply may also carry its client's "gone" flag (watch()): a write still queued when the
// client leaves is not run. One dropped by shard::abandon_pending (a deposed primary drops
// what waited for durability that will never come) answers not_primary: the client retries
// where the primary is.
// Thread-safety: a reply is used by one thread at a time (it moves with its request).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>

#include "absl/functional/any_invocable.h"
#include "core/check.h"
#include "core/errors.h"

namespace stampede {

// While a shard's members are destroyed, the replies of requests still queued in it are
// dropped with them; nowhere else. A shard holds an opener as its last member (destroyed
// first) and a closer as its first (destroyed last), so the window spans exactly its
// members' destruction, on the destroying thread.
struct reply_drop_window {
  static inline thread_local int open = 0;
  // Within shard::abandon_pending: the dropped replies answer not_primary.
  static inline thread_local int abandoning = 0;
  struct opener {
    ~opener() { ++open; }
  };
  struct closer {
    ~closer() { --open; }
  };
};

template <class T>
class reply {
 public:
  using callback = absl::AnyInvocable<void(result<T>)>;

  reply(boost::asio::any_io_executor executor, callback fn)
      : executor_(std::move(executor)), fn_(std::move(fn)) {}
  reply(reply&& other) noexcept
      : executor_(std::move(other.executor_)),
        fn_(std::move(other.fn_)),
        state_(std::exchange(other.state_, state::moved)),
        gone_(std::move(other.gone_)) {}
  reply& operator=(reply&&) = delete;
  reply(const reply&) = delete;
  ~reply() {
    STAMPEDE_DCHECK(state_ != state::waiting || reply_drop_window::open > 0);
    if (state_ == state::waiting && reply_drop_window::abandoning > 0)
      (*this)(make_error(error_code::not_primary,
                         "this node stopped being the primary before the change was durable"));
  }

  void operator()(result<T> r) {
    STAMPEDE_DCHECK(state_ == state::waiting);  // answered once, and not after a move
    state_ = state::answered;
    boost::asio::dispatch(executor_, [fn = std::move(fn_), r = std::move(r)]() mutable {
      fn(std::move(r));
    });
  }
  void operator()(error e) { (*this)(result<T>(std::move(e))); }

  // The flag the transport sets when the client goes away while the request is queued.
  void watch(std::shared_ptr<const std::atomic<bool>> gone) { gone_ = std::move(gone); }
  const std::shared_ptr<const std::atomic<bool>>& gone() const { return gone_; }

 private:
  enum class state : uint8_t { waiting, answered, moved };
  boost::asio::any_io_executor executor_;
  callback fn_;
  state state_ = state::waiting;
  std::shared_ptr<const std::atomic<bool>> gone_;
};

// The answer of a request that took an Idempotency-Key: `replayed` when it is the stored
// answer of an earlier request with the same key.
template <class T>
struct idempotent {
  T value;
  bool replayed = false;
};

// A page of a listing; `next_cursor` empty when there is no more.
template <class T>
struct page {
  std::vector<T> items;
  std::string next_cursor;
};

}  // namespace stampede
