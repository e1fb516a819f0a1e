// How an engine operation answers: the result is handed to a callback on the executor the
// caller named (asio::dispatch: inline when the caller's executor is the current thread's,
// posted otherwise). Move-only; must be called exactly once. A reply may also carry its
// client's "gone" flag (watch()): a write still queued when the client leaves is not run.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>

#include "absl/functional/any_invocable.h"
#include "core/errors.h"

namespace stampede {

template <class T>
class reply {
 public:
  using callback = absl::AnyInvocable<void(result<T>)>;

  reply(boost::asio::any_io_executor executor, callback fn)
      : executor_(std::move(executor)), fn_(std::move(fn)) {}

  void operator()(result<T> r) {
    boost::asio::dispatch(executor_, [fn = std::move(fn_), r = std::move(r)]() mutable {
      fn(std::move(r));
    });
  }
  void operator()(error e) { (*this)(result<T>(std::move(e))); }

  // The flag the transport sets when the client goes away while the request is queued.
  void watch(std::shared_ptr<const std::atomic<bool>> gone) { gone_ = std::move(gone); }
  const std::shared_ptr<const std::atomic<bool>>& gone() const { return gone_; }

 private:
  boost::asio::any_io_executor executor_;
  callback fn_;
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
