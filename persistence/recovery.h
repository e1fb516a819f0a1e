// Opening a data directory: lock it, check its manifest, read every shard's write-ahead
// log (truncating a torn tail, refusing corruption), replay it into the engine, and give
// each shard its log to append to. Call before engine::start(), from the main thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/engine.h"

namespace stampede::wal {

struct recovery_report {
  uint64_t records = 0;   // replayed, all shards
  uint64_t bytes = 0;     // of log read
  double seconds = 0;     // reading, replaying and rebuilding stock
  double replay_seconds = 0;   // of which: reading and replaying the logs (shards in parallel)
  int torn_tails = 0;     // shards whose log ended in a torn write, now truncated
};

// Holds the data directory's lock: one process (one engine) per directory. Keep it alive
// until the engine has stopped, so its last records are written under the lock.
class data_dir_lock {
 public:
  data_dir_lock() = default;
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

 private:
  friend std::string open_data_dir(engine&, const std::string&, recovery_report&, data_dir_lock&);
  int fd_ = -1;
};

// Returns "" or why the store cannot start (the message names the file and offset).
std::string open_data_dir(engine& eng, const std::string& dir, recovery_report& report,
                          data_dir_lock& lock);

}  // namespace stampede::wal
