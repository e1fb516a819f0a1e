#include "core/drop_line.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace stampede {
namespace {

// The obvious model: a vector of flags and its prefix counts, recomputed for each check.
struct model {
  std::vector<bool> present;
  std::vector<int64_t> prefix;  // prefix[i]: present places among 1..i
  void count() {
    prefix.assign(present.size() + 1, 0);
    for (size_t i = 0; i < present.size(); ++i) prefix[i + 1] = prefix[i] + present[i];
  }
  int64_t count_before(int64_t p) const {
    return prefix[size_t(std::min<int64_t>(p - 1, int64_t(present.size())))];
  }
  int64_t nth(int64_t k) const {
    for (size_t i = 0; i < present.size(); ++i)
      if (present[i] && k-- == 0) return int64_t(i) + 1;
    return 0;
  }
};

TEST(DropLine, AgreesWithAWalkOverFlagsThroughRandomAppendsRemovalsAndGrowth) {
  std::mt19937_64 rng(12345);
  drop_line line;
  model m;
  for (int step = 0; step < 20'000; ++step) {
    int op = int(rng() % 10);
    if (op < 4 || m.present.empty()) {
      EXPECT_EQ(line.append(), int64_t(m.present.size()) + 1);
      m.present.push_back(true);
    } else if (op < 8) {
      int64_t p = int64_t(rng() % m.present.size()) + 1;
      bool on = rng() % 3 == 0;
      line.set(p, on);
      m.present[p - 1] = on;
    } else {
      int64_t to = int64_t(m.present.size()) + int64_t(rng() % 5);
      line.extend_to(to);
      m.present.resize(size_t(to), false);
    }
    if (step % 97 != 0) continue;
    m.count();
    ASSERT_EQ(line.size(), int64_t(m.present.size()));
    for (int64_t p = 1; p <= line.size() + 1; p += 1 + int64_t(rng() % 7)) {
      ASSERT_EQ(line.count_before(p), m.count_before(p)) << "step " << step << " place " << p;
    }
    for (int64_t k = 0; k < line.count(); k += 1 + int64_t(rng() % 50)) {
      ASSERT_EQ(line.nth(k), m.nth(k)) << "step " << step << " k " << k;
    }
    ASSERT_EQ(line.nth(line.count()), 0);
    if (line.count() > 0) {
      ASSERT_EQ(line.next_after(line.first()), m.nth(1));
    }
  }
}

TEST(DropLine, AnEmptyLineHasNoFirst) {
  drop_line line;
  EXPECT_EQ(line.first(), 0);
  line.extend_to(3);
  EXPECT_EQ(line.first(), 0);
  line.set(2, true);
  EXPECT_EQ(line.first(), 2);
  EXPECT_EQ(line.count_before(3), 1);
  EXPECT_EQ(line.next_after(2), 0);
}

}  // namespace
}  // namespace stampede
