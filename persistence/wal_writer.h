// A shard's write-ahead log: the effect_log that makes effects durable. The shard appends
// encoded records to a batch; at the end of its pass the batch goes to this log's own I/O
// thread, which writes it and fdatasyncs it (group commit: everything a pass recorded, and
// whatever more arrives while the previous sync runs, is synced together), then tells the
// shard with a message. A shard thread never waits on the disk.
//
// A failed write or sync is never retried (the page cache may have dropped the data) and
// never acknowledged: the process reports it and exits non-zero; a restart recovers what
// is durable. Thread-safety: append/flush/durable_lsn/mark_durable on the shard's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/effect.h"

namespace stampede::wal {

// A segment file is kept up to this far ahead of its records in zeros (posix_file in
// wal_writer.cc), within the segment's size.
inline constexpr uint64_t log_zero_chunk = 1u << 20;

// Where a log's bytes go. The POSIX file is the one in use; tests put a device that loses
// unsynced writes (a power cut) in its place. Called from the log's I/O thread only.
class log_device {
 public:
  virtual ~log_device() = default;
  // Appends to the file (the page cache); false on an I/O error.
  virtual bool append(std::string_view bytes) = 0;
  // Makes every append so far durable; false on an I/O error.
  virtual bool sync() = 0;
};

// What a failed write or sync does: by default, report it and end the process (exit 70).
// Tests replace it; the writer then acknowledges nothing more.
using fatal_handler = std::function<void(const char* what)>;

// Opens the next segment, whose first record will have `first_sequence`; nullptr (errno
// set) on failure. Called on the I/O thread.
using segment_factory = std::function<std::unique_ptr<log_device>(uint64_t first_sequence)>;

// Sees each batch (whole records, the last numbered `last_lsn`) on the I/O thread before it
// is written: replication publishes it (persistence/replicated_log.h). May wait.
using batch_tap = std::function<void(std::string_view records, uint64_t last_lsn)>;

class wal_writer final : public effect_log {
 public:
  // A writer on any device (tests). `synced` as for open(). Without `next_segment` the
  // device is never rotated.
  wal_writer(std::unique_ptr<log_device> device, uint64_t last_sequence,
             std::function<void(uint64_t)> synced, fatal_handler on_fatal,
             segment_factory next_segment = nullptr, uint64_t segment_bytes = 0,
             uint64_t segment_size = 0, batch_tap tap = nullptr);

  // `synced(lsn)` runs on the I/O thread after records up to lsn are durable; it must hand
  // that to the shard (a message), which then calls mark_durable(lsn).
  // Opens shard `shard`'s segment `path` in `dir` for appending after its first
  // `valid_bytes` (truncating what follows: a torn write, or zeros); once a segment holds
  // `segment_bytes`, the next batch starts a new one. Returns "" or an error message.
  static std::string open(const std::string& dir, uint32_t shard, const std::string& path,
                          uint64_t valid_bytes, uint64_t last_sequence, uint64_t segment_bytes,
                          std::function<void(uint64_t)> synced, std::unique_ptr<wal_writer>& out,
                          batch_tap tap = nullptr);
  ~wal_writer() override;

  uint64_t append(const effect& e) override;
  void flush() override;
  uint64_t durable_lsn() const override { return durable_; }
  void mark_durable(uint64_t lsn) override;

 private:
  void io_loop();
  // Writes and syncs `data`; false (after the fatal handler ran) on failure.
  bool write_and_sync(const std::string& data);

  // I/O thread (and the destructor, after it).
  std::unique_ptr<log_device> device_;
  segment_factory next_segment_;
  uint64_t segment_bytes_;
  uint64_t segment_size_;  // bytes in the current segment
  uint64_t counted_lsn_;   // records up to here are in the process-wide append counter
  batch_tap tap_;

  // Shard thread.
  fatal_handler on_fatal_;
  bool dead_ = false;  // I/O thread: a write or sync failed; nothing more is acknowledged
  uint64_t appended_;
  uint64_t durable_;
  std::string batch_;       // records appended since the last hand-off

  // Shared with the I/O thread: one batch in flight at a time (a bounded hand-off of one).
  std::mutex mu_;
  std::condition_variable cv_;
  std::string in_flight_;  // guarded by mu_
  uint64_t in_flight_lsn_ = 0;  // guarded by mu_; 0 when the I/O thread is idle
  bool stop_ = false;           // guarded by mu_
  std::function<void(uint64_t)> synced_;
  std::thread io_;
};

}  // namespace stampede::wal
