// A line of places 1, 2, 3, ... (a queue's tickets, a waitlist's entries), each present or
// gone, that answers "how many are present before place p" and "the k-th present place"
// in O(log n): a Fenwick tree that grows at the end. Places are never reused, so a place
// is a stable name for whoever holds it. Shard-local: one owner's thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/check.h"

namespace stampede {

class drop_line {
 public:
  int64_t size() const { return static_cast<int64_t>(present_.size()); }
  int64_t count() const { return count_; }

  // Adds place size() + 1, present, and returns it.
  int64_t append() {
    grow();
    set(size(), true);
    return size();
  }
  // Makes places up to p exist (new ones gone): replay may place tickets out of order.
  void extend_to(int64_t p) {
    while (size() < p) grow();
  }
  bool present(int64_t p) const { return p >= 1 && p <= size() && present_[p - 1] != 0; }
  // REQUIRES: 1 <= p <= size()
  void set(int64_t p, bool on) {
    STAMPEDE_CHECK(p >= 1 && p <= size());
    if (present(p) == on) return;
    present_[p - 1] = on ? 1 : 0;
    int64_t delta = on ? 1 : -1;
    count_ += delta;
    for (int64_t i = p; i <= size(); i += i & -i) tree_[i] += delta;
  }
  // Present places strictly before p.
  int64_t count_before(int64_t p) const { return prefix(std::min<int64_t>(p - 1, size())); }
  // The present place with k present places before it, or 0 when there is none.
  int64_t nth(int64_t k) const {
    if (k < 0 || k >= count_) return 0;
    int64_t pos = 0;
    int64_t remaining = k + 1;
    int64_t step = 1;
    while (step * 2 <= size()) step *= 2;
    for (; step > 0; step /= 2) {
      if (pos + step <= size() && tree_[pos + step] < remaining) {
        pos += step;
        remaining -= tree_[pos];
      }
    }
    return pos + 1;
  }
  int64_t first() const { return nth(0); }
  // The first present place after p, or 0.
  int64_t next_after(int64_t p) const { return nth(prefix(std::min<int64_t>(p, size()))); }

 private:
  int64_t prefix(int64_t p) const {
    int64_t sum = 0;
    for (int64_t i = p; i > 0; i -= i & -i) sum += tree_[i];
    return sum;
  }
  // A new last place, gone: its tree node covers (i - lowbit(i), i], of which only the
  // places before it can be present.
  void grow() {
    int64_t i = size() + 1;
    if (tree_.empty()) tree_.push_back(0);
    tree_.push_back(static_cast<int32_t>(prefix(i - 1) - prefix(i - (i & -i))));
    present_.push_back(0);
  }

  std::vector<int32_t> tree_;     // 1-based; tree_[0] unused
  std::vector<uint8_t> present_;  // place - 1
  int64_t count_ = 0;
};

}  // namespace stampede
