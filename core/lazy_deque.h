// A FIFO that allocates nothing until its first element. libstdc++'s std::deque allocates
// its map (64 bytes) and a first 512-byte block when it is constructed, even if it stays
// empty; a user record holds two queues that nearly always are (its notifications and its
// waiting requests), so every user cost 2 x ~600 bytes of new memory, about 8% of a
// recovery's page faults (BENCHMARKS.md, "Recovery profile"). Once allocated, the deque is
// kept: a user whose requests queue once is likely to again, and freeing it at each empty
// queue would put an allocation back on the turn's path.
// Not thread-safe: it belongs to whoever owns the record that holds it.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

#include "core/check.h"

namespace stampede {

template <class T>
class lazy_deque {
 public:
  using const_iterator = typename std::deque<T>::const_iterator;

  bool empty() const { return !d_ || d_->empty(); }
  size_t size() const { return d_ ? d_->size() : 0; }
  bool allocated() const { return d_ != nullptr; }

  void push_back(T&& v) {
    if (!d_) d_ = std::make_unique<std::deque<T>>();
    d_->push_back(std::move(v));
  }
  T& front() {
    STAMPEDE_DCHECK(!empty());
    return d_->front();
  }
  void pop_front() {
    STAMPEDE_DCHECK(!empty());
    d_->pop_front();
  }
  const T& operator[](size_t i) const {
    STAMPEDE_DCHECK(i < size());
    return (*d_)[i];
  }
  const_iterator begin() const { return d_ ? d_->cbegin() : none().cbegin(); }
  const_iterator end() const { return d_ ? d_->cend() : none().cend(); }

 private:
  // What an unallocated queue iterates: one shared empty deque, never changed.
  static const std::deque<T>& none() {
    static const std::deque<T> empty;
    return empty;
  }
  std::unique_ptr<std::deque<T>> d_;
};

}  // namespace stampede
