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
  int torn_tails = 0;     // shards whose log ended in a torn write, now truncated
};

// Returns "" or why the store cannot start (the message names the file and offset).
std::string open_data_dir(engine& eng, const std::string& dir, recovery_report& report);

}  // namespace stampede::wal
