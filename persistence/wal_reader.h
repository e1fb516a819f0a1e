// Reads a shard's write-ahead log for recovery (format: wal_format.h). Runs before the
// shard's thread starts; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/effect.h"

namespace stampede::wal {

struct read_result {
  uint64_t records = 0;            // valid records handed to the callback, in order
  uint64_t skipped = 0;            // valid records at or before skip_through
  uint64_t last_sequence = 0;      // of the last valid record
  uint64_t valid_bytes = 0;        // the file's good prefix
  bool torn_tail = false;          // bytes after valid_bytes are a torn write, to truncate
                                   // (false when they are all zeros: the writer's, ahead)
  std::optional<std::string> corruption;  // "wal-0.log: corrupt record at offset 1234 (...)"
};

// Hands each valid record's effect to `on_effect`, in log order, as it is decoded (no
// store-sized list in between). The first record must have `first_sequence` and each next
// one the sequence after; records up to `skip_through` (a snapshot has them) are checked but
// not decoded. A missing file reads as an empty log. On corruption the callback has seen
// the records before it; the caller must not start the store.
read_result read_log(const std::string& path, const std::function<void(effect&&)>& on_effect,
                     uint64_t first_sequence = 1, uint64_t skip_through = 0);

}  // namespace stampede::wal
