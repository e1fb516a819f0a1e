#include "server/latency_window.h"

#include <cmath>

namespace stampede::http {

namespace {

// The bounds, computed once: a bucket is found by a binary search, never by a logarithm per
// request.
const std::array<double, latency_window::buckets>& bounds() {
  static const std::array<double, latency_window::buckets> b = [] {
    std::array<double, latency_window::buckets> out{};
    double bound = latency_window::first_bound_ms;
    for (auto& x : out) {
      x = bound;
      bound *= latency_window::bucket_growth;
    }
    return out;
  }();
  return b;
}

}  // namespace

double latency_window::upper_bound_ms(size_t bucket) { return bounds()[bucket]; }

void latency_window::record(double latency_ms) {
  const auto& b = bounds();
  size_t lo = 0, hi = buckets - 1;  // the first bound >= latency, or the last bucket
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (b[mid] < latency_ms) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  counts_[lo].fetch_add(1, std::memory_order_relaxed);
}

latency_window::taken latency_window::take() {
  std::array<uint64_t, buckets> now{};
  uint64_t total = 0;
  for (size_t i = 0; i < buckets; ++i) {
    now[i] = counts_[i].exchange(0, std::memory_order_relaxed);
    total += now[i];
  }
  if (total == 0) return {};
  // The smallest bucket at or under which 99% of the window's requests fall.
  uint64_t needed = (total * 99 + 99) / 100, seen = 0;
  for (size_t i = 0; i < buckets; ++i) {
    seen += now[i];
    if (seen >= needed) return {upper_bound_ms(i), total};
  }
  return {upper_bound_ms(buckets - 1), total};
}

}  // namespace stampede::http
