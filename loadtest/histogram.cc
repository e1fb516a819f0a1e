#include "loadtest/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace stampede::load {

latency_histogram& latency_histogram::operator=(const latency_histogram& other) {
  if (this != &other) {
    clear();
    merge(other);
  }
  return *this;
}

void latency_histogram::locate(uint64_t value, int& row_index, uint64_t& sub_index) {
  if (value < sub_bucket_count) {
    row_index = 0;
    sub_index = value;
    return;
  }
  int exponent = std::bit_width(value) - 1;  // >= sub_bucket_bits
  int shift = exponent - sub_bucket_bits;
  row_index = shift + 1;
  sub_index = (value >> shift) - sub_bucket_count;
}

uint64_t latency_histogram::bucket_midpoint(int row_index, uint64_t sub_index) {
  if (row_index == 0) return sub_index;
  int shift = row_index - 1;
  uint64_t lower = (sub_bucket_count + sub_index) << shift;
  uint64_t width = uint64_t{1} << shift;
  return lower + width / 2;
}

void latency_histogram::record_n(uint64_t value_ns, uint64_t n) {
  if (n == 0) return;
  int r = 0;
  uint64_t s = 0;
  locate(value_ns, r, s);
  if (!rows_[r]) rows_[r] = std::make_unique<row>();
  (*rows_[r])[s] += n;
  count_ += n;
  min_ = std::min(min_, value_ns);
  max_ = std::max(max_, value_ns);
  sum_ += static_cast<long double>(value_ns) * n;
}

void latency_histogram::merge(const latency_histogram& other) {
  for (int r = 0; r < row_count; ++r) {
    if (!other.rows_[r]) continue;
    if (!rows_[r]) rows_[r] = std::make_unique<row>();
    for (uint64_t s = 0; s < sub_bucket_count; ++s) (*rows_[r])[s] += (*other.rows_[r])[s];
  }
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void latency_histogram::clear() {
  for (auto& r : rows_) r.reset();
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

uint64_t latency_histogram::value_at_quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int r = 0; r < row_count; ++r) {
    if (!rows_[r]) continue;
    for (uint64_t s = 0; s < sub_bucket_count; ++s) {
      seen += (*rows_[r])[s];
      if (seen >= rank) return std::clamp(bucket_midpoint(r, s), min(), max_);
    }
  }
  return max_;
}

double latency_histogram::mean() const { return count_ ? static_cast<double>(sum_ / count_) : 0.0; }

}  // namespace stampede::load
