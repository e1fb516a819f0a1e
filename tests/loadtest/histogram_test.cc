// The log-linear histogram against a sorted-array oracle: every quantile within 1% of the
// exact order statistic from 10 us to 60 s, over several shapes of data.
#include "loadtest/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace stampede::load {
namespace {

constexpr uint64_t ten_us_ns = 10'000;
constexpr uint64_t sixty_s_ns = 60'000'000'000;
constexpr double tolerance = 0.01;
const double quantiles[] = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0};

// The exact value at quantile q of sorted data, ranked as the histogram ranks it.
uint64_t oracle(const std::vector<uint64_t>& sorted, double q) {
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void expect_within_tolerance(std::vector<uint64_t> values) {
  latency_histogram h;
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  ASSERT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  for (double q : quantiles) {
    double exact = static_cast<double>(oracle(values, q));
    double got = static_cast<double>(h.value_at_quantile(q));
    EXPECT_LE(std::abs(got - exact), tolerance * exact)
        << "q=" << q << " exact " << exact << " got " << got;
  }
}

std::vector<uint64_t> log_uniform(size_t n, uint64_t lo, uint64_t hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(std::log(static_cast<double>(lo)),
                                                  std::log(static_cast<double>(hi)));
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = static_cast<uint64_t>(std::exp(exponent(rng)));
  return v;
}

TEST(LatencyHistogram, QuantilesOfLogUniformDataFrom10usTo60sAreWithinOnePercent) {
  for (uint64_t seed = 1; seed <= 5; ++seed)
    expect_within_tolerance(log_uniform(200'000, ten_us_ns, sixty_s_ns, seed));
}

TEST(LatencyHistogram, QuantilesOfATightClusterAreWithinOnePercent) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> around_1ms(1e6, 2e4);
  std::vector<uint64_t> v(100'000);
  for (auto& x : v) x = static_cast<uint64_t>(std::max(ten_us_ns * 1.0, around_1ms(rng)));
  expect_within_tolerance(v);
}

TEST(LatencyHistogram, QuantilesOfABimodalRunWithAStallAreWithinOnePercent) {
  // Most answers in ~300 us, 2% stuck behind a one-second stall: the p99 is in the stall.
  auto fast = log_uniform(98'000, 200'000, 400'000, 11);
  auto stalled = log_uniform(2'000, 900'000'000, 1'000'000'000, 12);
  fast.insert(fast.end(), stalled.begin(), stalled.end());
  expect_within_tolerance(fast);
  latency_histogram h;
  for (auto x : fast) h.record(x);
  EXPECT_GT(h.value_at_quantile(0.99), 800'000'000u);
}

TEST(LatencyHistogram, EverySingleValueReadsBackWithinOnePercent) {
  for (uint64_t v = ten_us_ns; v <= sixty_s_ns; v = v + v / 97 + 1) {
    latency_histogram h;
    h.record(v);
    h.record(v);  // a bucket midpoint, clamped to min and max, would hide an error
    h.record(sixty_s_ns * 2);
    double got = static_cast<double>(h.value_at_quantile(0.5));
    EXPECT_LE(std::abs(got - static_cast<double>(v)), tolerance * static_cast<double>(v)) << v;
  }
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  latency_histogram h;
  for (uint64_t v = 0; v < latency_histogram::sub_bucket_count; ++v) h.record(v);
  for (uint64_t v = 0; v < latency_histogram::sub_bucket_count; ++v)
    EXPECT_EQ(h.value_at_quantile(static_cast<double>(v + 1) / latency_histogram::sub_bucket_count),
              v);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  auto a = log_uniform(10'000, ten_us_ns, sixty_s_ns, 21);
  auto b = log_uniform(10'000, ten_us_ns, 1'000'000, 22);
  latency_histogram ha, hb, all;
  for (auto x : a) ha.record(x), all.record(x);
  for (auto x : b) hb.record(x), all.record(x);
  ha.merge(hb);
  EXPECT_EQ(ha.count(), all.count());
  EXPECT_EQ(ha.min(), all.min());
  EXPECT_EQ(ha.max(), all.max());
  for (double q : quantiles) EXPECT_EQ(ha.value_at_quantile(q), all.value_at_quantile(q)) << q;
  latency_histogram copy = ha;
  EXPECT_EQ(copy.value_at_quantile(0.99), ha.value_at_quantile(0.99));
}

TEST(LatencyHistogram, AnEmptyHistogramReadsZero) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.value_at_quantile(0.99), 0u);
  EXPECT_EQ(h.max(), 0u);
  h.record(5'000);
  h.clear();
  EXPECT_EQ(h.value_at_quantile(0.5), 0u);
}

}  // namespace
}  // namespace stampede::load
