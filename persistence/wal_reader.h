// Reads a shard's write-ahead log for recovery (format: wal_format.h). Runs before the
// shard's thread starts; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/effect.h"

namespace stampede::wal {

struct read_result {
  std::vector<effect> effects;     // in log order
  uint64_t last_sequence = 0;      // of the last valid record
  uint64_t valid_bytes = 0;        // the file's good prefix
  bool torn_tail = false;          // bytes after valid_bytes are a torn write, to truncate
  std::optional<std::string> corruption;  // "wal-0.log: corrupt record at offset 1234 (...)"
};

// A missing file reads as an empty log.
read_result read_log(const std::string& path);

}  // namespace stampede::wal
