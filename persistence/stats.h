// Process-wide durability gauges and counters for /metrics: every WAL writer and the
// snapshotter add to them (relaxed atomics: any thread, never a lock).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace stampede::wal {

struct durability_stats {
  std::atomic<uint64_t> records_appended{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> sync_us_total{0};
  // fdatasync latency: counts of syncs at or under each bound, in microseconds.
  static constexpr std::array<uint64_t, 10> sync_buckets_us{50,   100,  250,   500,   1000,
                                                            2500, 5000, 10000, 25000, 100000};
  std::array<std::atomic<uint64_t>, sync_buckets_us.size() + 1> sync_le{};
  std::atomic<int64_t> last_snapshot_unix_ms{0};  // 0: none since the process started
  std::atomic<uint64_t> snapshots{0};
  std::atomic<uint64_t> segments_deleted{0};

  void observe_sync(uint64_t us) {
    ++syncs;
    sync_us_total += us;
    size_t i = 0;
    while (i < sync_buckets_us.size() && us > sync_buckets_us[i]) ++i;
    ++sync_le[i];
  }
};

durability_stats& durability();

}  // namespace stampede::wal
