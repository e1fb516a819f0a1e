// Client-side adaptive throttling, as Google's SRE book describes it ("Handling Overload",
// ch. 21): a client keeps, over a sliding window, how many requests it attempted and how
// many the server accepted, and refuses a new request itself, without sending it, with
// probability max(0, (requests - K * accepts) / (requests + 1)). While the server accepts
// everything the client sends nothing is held back; once it refuses, the client sends about
// K times what it accepts, and the rest is refused here at no cost to the server. The book
// suggests K = 2 where a refusal costs the server little; where it costs much of what
// serving does (an HTTP server refusing over its own sockets), K nearer 1 wastes less.
// The overload tool's --client-throttle models a storefront client that does this
// (loadtest/overload/README.md; what it did at 10x: BENCHMARKS.md). One thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace stampede::load {

class client_throttle {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr size_t buckets = 20;

  // k: the multiplier (K); window: how far back the counts reach.
  client_throttle(double k, clock::duration window) : k_(k), bucket_(window / buckets) {}

  // The probability that a request attempted now is refused here.
  double refusal_probability(clock::time_point now) {
    advance(now);
    double p = (static_cast<double>(requests_) - k_ * static_cast<double>(accepts_)) /
               (static_cast<double>(requests_) + 1);
    return p > 0 ? p : 0;
  }
  // A request is attempted now; `uniform` is a draw from [0, 1). Counted either way (the
  // book counts attempts, so that a client refused here keeps trying the server a little).
  bool allow(clock::time_point now, double uniform) {
    bool go = uniform >= refusal_probability(now);
    ++ring_[index_].requests;
    ++requests_;
    return go;
  }
  // The server accepted a request (a 2xx) now.
  void accepted(clock::time_point now) {
    advance(now);
    ++ring_[index_].accepts;
    ++accepts_;
  }

 private:
  struct counts {
    uint64_t requests = 0, accepts = 0;
  };
  // Drops the buckets older than the window.
  void advance(clock::time_point now) {
    if (now < head_end_) return;
    for (size_t i = 0; i < buckets && now >= head_end_; ++i) {
      index_ = (index_ + 1) % buckets;
      requests_ -= ring_[index_].requests;
      accepts_ -= ring_[index_].accepts;
      ring_[index_] = {};
      head_end_ += bucket_;
    }
    if (now >= head_end_) head_end_ = now + bucket_;  // idle for a whole window: all cleared
  }

  double k_;
  clock::duration bucket_;
  std::array<counts, buckets> ring_{};
  size_t index_ = 0;
  clock::time_point head_end_{};  // the end of the current bucket
  uint64_t requests_ = 0, accepts_ = 0;
};

}  // namespace stampede::load
