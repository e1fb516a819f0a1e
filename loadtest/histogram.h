// A log-linear latency histogram (HdrHistogram's layout, written small because Debian has no
// HdrHistogram_c): exact below 128 ns, then 128 linear buckets per power of two, so a value
// read back is within 0.4% of what was recorded. Rows of buckets are allocated on first use:
// a histogram of one second's answers costs a few KB. Not thread-safe; one owner.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

namespace stampede::load {

class latency_histogram {
 public:
  // 2^7 linear buckets per power of two: a bucket is at most 1/128 of its lower bound
  // wide, and its midpoint is at most 1/256 (0.39%) from anything in it.
  static constexpr int sub_bucket_bits = 7;
  static constexpr uint64_t sub_bucket_count = uint64_t{1} << sub_bucket_bits;
  // Row 0 holds 0..127 exactly; row r >= 1 holds [2^(r+6), 2^(r+7)).
  static constexpr int row_count = 64 - sub_bucket_bits + 1;

  latency_histogram() = default;
  latency_histogram(latency_histogram&&) = default;
  latency_histogram& operator=(latency_histogram&&) = default;
  latency_histogram(const latency_histogram& other) { merge(other); }
  latency_histogram& operator=(const latency_histogram& other);

  void record(uint64_t value_ns) { record_n(value_ns, 1); }
  void record_n(uint64_t value_ns, uint64_t n);
  void merge(const latency_histogram& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  // The value at quantile q (0..1): the midpoint of the bucket holding the ceil(q * count)-th
  // smallest recorded value, clamped to [min, max]. 0 when empty.
  uint64_t value_at_quantile(double q) const;
  double mean() const;

 private:
  using row = std::array<uint64_t, sub_bucket_count>;
  static void locate(uint64_t value, int& row_index, uint64_t& sub_index);
  static uint64_t bucket_midpoint(int row_index, uint64_t sub_index);

  std::array<std::unique_ptr<row>, row_count> rows_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace stampede::load
