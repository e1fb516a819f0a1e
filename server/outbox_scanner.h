// The retry loop both outbox deliverers share (webhooks: webhook_client.h; email:
// email/deliverer.h): a timer that scans the outbox every period, each entry's attempts and
// next retry time, the expiry of what has been retried for the whole window, and the
// backoff after a failure. What "start one delivery" means stays with each deliverer.
// Shard-local: one scanner per shard's deliverer, used only on that shard's io_context.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "server/retry.h"

namespace stampede::http {

struct outbox_retry_policy {
  int64_t scan_period_ms = 100;  // how often the outbox is looked at
  int64_t retry_base_ms = 1000;  // the first retry's delay, doubling, jittered
  int64_t backoff_max_ms = 0;    // the longest delay between attempts
  int64_t window_ms = 0;         // after this long in the outbox, an entry is given up on
};

template <class Key>
class outbox_scanner {
 public:
  // What a deliverer did with an entry that is due.
  enum class step {
    started,  // a delivery is in flight: its outcome comes to ended()
    passed,   // not now (its receiver is full or open, say): look again at the next scan
    full,     // no room for more deliveries at all: stop this scan, look again next period
  };

  outbox_scanner(boost::asio::io_context& io, outbox_retry_policy policy)
      : policy_(policy), timer_(io), rng_(std::random_device{}()) {}

  // Calls tick() every scan period until stop(). `tick` keeps its owner (and so this
  // scanner) alive: the timer's handler holds it.
  template <class Tick>
  void every_period(Tick tick) {
    timer_.expires_after(std::chrono::milliseconds(policy_.scan_period_ms));
    timer_.async_wait([this, tick = std::move(tick)](const boost::system::error_code& ec) mutable {
      if (ec || stopped_) return;
      tick();
      every_period(std::move(tick));
    });
  }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

  // Offers each due entry of `entries` (oldest first; each has created_at_ms) to
  // `start(key, entry, now_ms) -> step`, skipping those in flight or waiting for their retry.
  // The outbox is read only when something new arrived (`arrivals` moved) or a retry is
  // due, not every period while a receiver is down. Returns the keys given up on (past the
  // window), for the caller to take out of the outbox.
  template <class Entries, class Start>
  std::vector<Key> scan(uint64_t arrivals, const Entries& entries, Start&& start) {
    int64_t now = wall_ms();
    if (arrivals == seen_arrivals_ && now < next_due_ms_) return {};
    seen_arrivals_ = arrivals;
    next_due_ms_ = INT64_MAX;
    std::vector<Key> expired;
    for (const auto& [key, entry] : entries) {
      attempt& a = attempts_[key];
      if (a.in_flight) continue;
      if (now - entry.created_at_ms > policy_.window_ms) {
        expired.push_back(key);
        continue;
      }
      if (a.next_at_ms > now) {
        due_at(a.next_at_ms);
        continue;
      }
      step s = start(key, entry, now);
      if (s == step::full) {
        due_at(now);  // more is due: look again next period
        break;
      }
      if (s == step::started) {
        a.in_flight = true;
        ++in_flight_;
      }
    }
    for (const auto& key : expired) attempts_.erase(key);
    return expired;
  }

  // A delivery started by scan() ended: `leaves` when the entry is out of the outbox now
  // (taken, or refused for good), else it is retried after a backoff. Returns false after
  // stop(), when the caller should record nothing (the outbox keeps the entry for the next
  // start).
  bool ended(const Key& key, bool leaves) {
    --in_flight_;
    if (stopped_) return false;
    auto it = attempts_.find(key);
    if (leaves) {
      if (it != attempts_.end()) attempts_.erase(it);
      return true;
    }
    if (it == attempts_.end()) return true;
    attempt& a = it->second;
    a.in_flight = false;
    ++a.failures;
    a.next_at_ms = wall_ms() + backoff(policy_.retry_base_ms, a.failures);
    due_at(a.next_at_ms);
    return true;
  }

  // The next scan reads the outbox if `ms` has come by then.
  void due_at(int64_t ms) { next_due_ms_ = std::min(next_due_ms_, ms); }
  size_t in_flight() const { return in_flight_; }
  // Jittered exponential delay after `failures` in a row, from `base_ms`, at most the policy's.
  int64_t backoff(int64_t base_ms, int failures) {
    return backoff_ms(base_ms, failures, policy_.backoff_max_ms, rng_);
  }
  // Forgets the attempts of entries that left the outbox otherwise (`left(key)`), once
  // there are more attempts than `entries_now`.
  template <class Left>
  void forget_left(size_t entries_now, Left&& left) {
    if (attempts_.size() <= entries_now) return;
    absl::erase_if(attempts_, [&](const auto& kv) { return !kv.second.in_flight && left(kv.first); });
  }

 private:
  struct attempt {
    int failures = 0;
    int64_t next_at_ms = 0;
    bool in_flight = false;
  };

  const outbox_retry_policy policy_;
  boost::asio::steady_timer timer_;
  std::mt19937_64 rng_;
  bool stopped_ = false;
  absl::flat_hash_map<Key, attempt> attempts_;
  size_t in_flight_ = 0;
  uint64_t seen_arrivals_ = ~uint64_t{0};
  int64_t next_due_ms_ = 0;
};

}  // namespace stampede::http
