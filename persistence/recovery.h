// Opening a data directory: lock it, check its manifest, load each shard's snapshot and
// replay its write-ahead log after the snapshot's position (truncating a torn tail,
// refusing corruption), and give each shard its log to append to. Call before
// engine::start(), from the main thread. The directory's files: files.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "persistence/snapshot.h"

namespace stampede::wal {

struct store_options {
  uint64_t segment_bytes = 64ull << 20;       // a log segment is closed past this size
  size_t snapshot_map_bytes = 64ull << 20;    // the LMDB map to start with; grows as needed
  std::string currency;  // the store currency the manifest must agree with ("": not checked)
};

struct recovery_report {
  uint64_t snapshot_units = 0;  // loaded from the snapshot, all shards
  uint64_t records = 0;   // replayed, all shards
  uint64_t skipped = 0;   // log records the snapshot already had
  uint64_t bytes = 0;     // of log read
  double seconds = 0;     // loading, replaying and rebuilding stock
  double replay_seconds = 0;   // of which: loading and replaying (shards in parallel)
  int torn_tails = 0;     // shards whose log ended in a torn write, now truncated
};

// Holds the data directory: its lock (one process, one engine a directory) and its
// snapshot store. Keep it alive until the engine has stopped, so its last records are
// written under the lock.
class data_dir_lock {
 public:
  data_dir_lock() = default;
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;
  snapshot_store* snapshots() { return snapshots_.get(); }
  const std::string& dir() const { return dir_; }

  // Creates `dir` if need be, locks it, checks (or writes) its manifest for `shards`, and
  // opens its snapshot store. "" or what is wrong.
  std::string open(const std::string& dir, uint32_t shards, const store_options& options);
  // Replaces the snapshot store with the LMDB file `copy` (a peer's, seeding this node):
  // the old one goes to <dir>/set-aside/snapshot. "" or what is wrong.
  std::string replace_snapshots(const std::string& copy, const store_options& options);

 private:
  std::string dir_;
  uint32_t shards_ = 0;
  int fd_ = -1;
  std::unique_ptr<snapshot_store> snapshots_;
};

// Returns "" or why the store cannot start (the message names the file and offset).
std::string open_data_dir(engine& eng, const std::string& dir, recovery_report& report,
                          data_dir_lock& lock, const store_options& options = {});

// With --replicate (persistence/replication_node.h) the streams, not the local log, hold
// what was acknowledged. Each engine a node builds loads its shards' snapshots only
// (`lock` opened once for the process), and the log segments found are set aside in
// <dir>/set-aside/ (replacing the set there): a primary's records past what its stream
// confirms were never acknowledged. `from[i]`: where shard i's snapshot leaves it.
std::string load_snapshots(engine& eng, data_dir_lock& lock, std::vector<snapshot_point>& from,
                           recovery_report& report);

}  // namespace stampede::wal
