// Snapshots: each shard's state, kept in an LMDB environment (`<data-dir>/snapshot/`), so
// that a restart reads the snapshot and replays only the log after it, and the log
// segments a snapshot covers can be deleted.
//
// Layout. Database "units": key = shard number (u32 big-endian) + the unit's key
// (effect.h: 'p' + product id, 'u' + user id, "s"), value = the effects that rebuild the
// unit, as write-ahead-log records (wal_format.h) numbered 1, 2, ... within the value, so
// each carries its CRC32C. Database "meta": "format" = "stampede-snapshot-1", and
// "lsn/<shard>" = u64 LE, the log position the shard's units are the state after, and with
// --replicate "seq/<shard>" = u64 LE, the last message of the shard's stream whose records
// it covers (a node restarting follows the stream from the next).
//
// A round (snapshotter::take): every shard is asked to begin; each copies the units that
// changed since its last round, as they are right after its last logged record, a bounded
// chunk per turn of its loop (shard::begin_snapshot), and says when that record is durable.
// The chunks are encoded off the shard threads and written in one LMDB transaction with
// every shard's position, so a snapshot is whole or absent; a full map is grown and the
// transaction written again. After the commit and mdb_env_sync, the log segments whose
// every record is covered are deleted.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "core/effect.h"
#include "core/engine.h"

namespace stampede::wal {

// Where a snapshot leaves a shard: its last log record, and (with --replicate) the last
// message of the shard's stream whose records it covers.
struct snapshot_point {
  uint64_t lsn = 0;
  uint64_t sequence = 0;
};

class snapshot_store {
 public:
  // Opens (creating) the environment in `dir` with room for `map_bytes` to start with.
  static std::string open(const std::string& dir, uint32_t shards, size_t map_bytes,
                          std::unique_ptr<snapshot_store>& out);
  ~snapshot_store();
  snapshot_store(const snapshot_store&) = delete;
  snapshot_store& operator=(const snapshot_store&) = delete;

  // The log position shard `shard`'s units cover (0: no snapshot), and the stream message
  // that position is in (0: none, or not replicated).
  uint64_t covered(uint32_t shard) const { return covered_[shard]; }
  uint64_t covered_sequence(uint32_t shard) const { return sequences_[shard]; }
  // Hands every effect of the shard's units to `on_effect`. Safe from one thread a shard at
  // once (read transactions). "" or what is wrong.
  std::string load(uint32_t shard, const std::function<void(effect&&)>& on_effect,
                   uint64_t& units) const;
  // Writes units (key without the shard prefix, encoded value) of each shard and the
  // positions they cover, in one transaction, growing the map as needed, then syncs.
  // "" or what is wrong.
  struct shard_part {
    std::vector<std::pair<std::string, std::string>> units;
    uint64_t covered = 0;
    uint64_t sequence = 0;
  };
  std::string write(const std::vector<shard_part>& parts);
  size_t map_bytes() const;
  uint64_t unit_count() const;  // every shard's
  int map_grows() const { return grows_; }

  // A consistent compact copy of the whole store (mdb_env_copyfd2, MDB_CP_COMPACT) written
  // to `fd` (a pipe) by a thread of the store's, and then `trailer(bytes)` when it is
  // whole; the descriptor is closed at the end either way. Any thread; the store waits for
  // its copies when destroyed.
  void copy_to(int fd, std::function<std::string(uint64_t bytes)> trailer);

 private:
  snapshot_store() = default;
  MDB_env* env_ = nullptr;
  MDB_dbi units_ = 0;
  MDB_dbi meta_ = 0;
  std::vector<uint64_t> covered_;
  std::vector<uint64_t> sequences_;
  int grows_ = 0;
  std::mutex copies_mu_;
  std::vector<std::thread> copies_;  // guarded by copies_mu_
};

// Encodes a unit's effects as its value.
std::string encode_unit(const std::vector<effect>& effects);

struct snapshot_options {
  int64_t interval_ms = 300'000;         // a round at least this often (0: never by time)
  uint64_t log_bytes = 256ull << 20;     // and whenever the logs grew this much since the last
  // With --replicate: the stream message a shard's log position is in (recorded with the
  // snapshot), and what a round covered, per shard (told to the other nodes).
  std::function<uint64_t(uint32_t shard, uint64_t lsn)> stream_sequence = nullptr;
  std::function<void(const std::vector<uint64_t>& sequences)> taken = nullptr;
};

struct snapshot_stats {
  uint64_t rounds = 0;
  uint64_t units = 0;          // in the last round
  uint64_t bytes = 0;          // of values, in the last round
  double seconds = 0;          // the last round, from asking the shards to the sync
  double write_seconds = 0;    // of which: the LMDB transaction and sync
  uint64_t segments_deleted = 0;  // over all rounds
};

// Runs snapshot rounds: by its own thread (start) on the interval and log-size triggers,
// or on demand (take). Stop it before the engine stops.
class snapshotter final : public snapshot_sink {
 public:
  snapshotter(engine& eng, std::string dir, snapshot_store& store, snapshot_options options);
  ~snapshotter() override;
  void start();
  void stop();
  // One round, now, on the calling thread; "" or what failed. Needs the shards running.
  // `after_begin` (tests) runs on each shard's thread right after it begins its part, to
  // change units while the round is under way.
  std::string take(std::function<void(shard&)> after_begin = nullptr);
  snapshot_stats stats() const;

  // snapshot_sink: shard threads.
  void units(uint32_t shard, std::vector<snapshot_unit>&& chunk) override;
  void covered(uint32_t shard, uint64_t lsn) override;

 private:
  struct event {
    uint32_t shard = 0;
    std::vector<snapshot_unit> units;
    std::optional<uint64_t> covered;
  };
  void loop();

  engine& eng_;
  const std::string dir_;
  snapshot_store& store_;
  const snapshot_options options_;
  moodycamel::ConcurrentQueue<event> events_;
  std::mutex round_mu_;  // one round at a time (the thread's and take()'s)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;    // guarded by mu_
  snapshot_stats stats_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace stampede::wal
