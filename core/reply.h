// How an engine operation answers: the result is handed to a callback on the executor the
// caller named (asio::dispatch: inline when the caller's executor is the current thread's,
// posted otherwise). Move-only; must be called exactly once. One destroyed unanswered (a
// deposed primary drops what waited for durability that will never come) answers
// not_primary: the client retries where the primary is.
#pragma once

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
      : executor_(std::move(executor)), fn_(std::move(fn)), pending_(true) {}
  reply(reply&& other) noexcept
      : executor_(std::move(other.executor_)),
        fn_(std::move(other.fn_)),
        pending_(std::exchange(other.pending_, false)) {}
  reply& operator=(reply&&) = delete;
  ~reply() {
    if (pending_)
      (*this)(make_error(error_code::not_primary,
                         "this node stopped being the primary before the change was durable"));
  }

  void operator()(result<T> r) {
    pending_ = false;
    boost::asio::dispatch(executor_, [fn = std::move(fn_), r = std::move(r)]() mutable {
      fn(std::move(r));
    });
  }
  void operator()(error e) { (*this)(result<T>(std::move(e))); }

 private:
  boost::asio::any_io_executor executor_;
  callback fn_;
  bool pending_ = false;
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
