#include "persistence/wal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "persistence/files.h"
#include "persistence/stats.h"
#include "persistence/wal_format.h"

namespace stampede::wal {

namespace {

void fatal_io(const char* what) {
  std::fprintf(stderr, "stampede: fatal: WAL %s failed: %s; nothing it carried was acknowledged\n",
               what, std::strerror(errno));
  std::_Exit(70);
}

// The log file itself. Past its records it holds zeros, written ahead a chunk at a time
// (up to the segment's size): an fdatasync then flushes records into blocks the file
// already has, and needs no journal commit for the file's size except once a chunk. On
// ext4 here that takes 0.45-0.65x the CPU and 0.74-0.82x the time of a sync that appends
// (BENCHMARKS.md, "Log segments zeroed ahead"). The reader takes a bad record followed by
// nothing but zeros for the end of the records (wal_reader.h).
class posix_file final : public log_device {
 public:
  // `size`: the bytes already in the file, all of them records; `limit`: the segment's size,
  // past which nothing is zeroed ahead (0: no limit).
  posix_file(int fd, uint64_t size, uint64_t limit)
      : fd_(fd), end_(size), zeroed_(size), limit_(limit) {}
  ~posix_file() override { ::close(fd_); }
  bool append(std::string_view bytes) override {
    if (!pwrite_all(fd_, bytes.data(), bytes.size(), end_)) return false;
    end_ += bytes.size();
    if (end_ <= zeroed_) return true;
    // The next chunk of zeros goes to the disk with the same sync as these records.
    uint64_t to = (end_ / log_zero_chunk + 1) * log_zero_chunk;
    if (limit_ != 0) to = std::min(to, limit_);
    zeroed_ = end_;
    if (to <= end_) return true;
    static const std::string zeros(log_zero_chunk, '\0');
    if (!pwrite_all(fd_, zeros.data(), to - end_, end_)) return false;
    zeroed_ = to;
    return true;
  }
  bool sync() override { return ::fdatasync(fd_) == 0; }

 private:
  int fd_;
  uint64_t end_;     // where the next record goes
  uint64_t zeroed_;  // the file's size: zeros from end_ to here
  uint64_t limit_;
};

}  // namespace

std::string wal_writer::open(const std::string& dir, uint32_t shard, const std::string& path,
                             uint64_t valid_bytes, uint64_t last_sequence, uint64_t segment_bytes,
                             std::function<void(uint64_t)> synced,
                             std::unique_ptr<wal_writer>& out, batch_tap tap) {
  int fd = ::access(path.c_str(), F_OK) == 0
               ? ::open(path.c_str(), O_WRONLY | O_CLOEXEC)
               : create_segment(path);  // a new file counts once its directory entry does
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0 || ::fdatasync(fd) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return "cannot prepare " + path + ": " + err;
  }
  auto next = [dir, shard, segment_bytes](uint64_t first_sequence) -> std::unique_ptr<log_device> {
    int fd = create_segment(segment_path(dir, shard, first_sequence));
    if (fd < 0) return nullptr;
    return std::make_unique<posix_file>(fd, 0, segment_bytes);
  };
  out = std::make_unique<wal_writer>(std::make_unique<posix_file>(fd, valid_bytes, segment_bytes),
                                     last_sequence, std::move(synced), fatal_io, std::move(next),
                                     segment_bytes, valid_bytes, std::move(tap));
  return "";
}

wal_writer::wal_writer(std::unique_ptr<log_device> device, uint64_t last_sequence,
                       std::function<void(uint64_t)> synced, fatal_handler on_fatal,
                       segment_factory next_segment, uint64_t segment_bytes,
                       uint64_t segment_size, batch_tap tap)
    : device_(std::move(device)),
      next_segment_(std::move(next_segment)),
      segment_bytes_(segment_bytes),
      segment_size_(segment_size),
      counted_lsn_(last_sequence),
      tap_(std::move(tap)),
      on_fatal_(std::move(on_fatal)),
      appended_(last_sequence),
      durable_(last_sequence),
      synced_(std::move(synced)),
      io_([this] { io_loop(); }) {}

wal_writer::~wal_writer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  io_.join();
  // The shard has stopped: whatever it recorded in its last pass is written now.
  if (!batch_.empty() && !dead_ && write_and_sync(batch_))
    durability().records_appended.fetch_add(appended_ - counted_lsn_, std::memory_order_relaxed);
}

bool wal_writer::write_and_sync(const std::string& data) {
  if (!device_->append(data)) {
    dead_ = true;
    on_fatal_("write");
    return false;
  }
  auto start = std::chrono::steady_clock::now();
  if (!device_->sync()) {
    dead_ = true;
    on_fatal_("fdatasync");
    return false;
  }
  durability().observe_sync(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
          .count()));
  durability().bytes_written.fetch_add(data.size(), std::memory_order_relaxed);
  return true;
}

uint64_t wal_writer::append(const effect& e) {
  // Over record_payload_max: nothing is logged, and the shard changes nothing (0).
  if (!append_record(batch_, appended_ + 1, e)) return 0;
  return ++appended_;
}

void wal_writer::flush() {
  if (batch_.empty()) return;
  std::unique_lock lock(mu_);
  if (in_flight_lsn_ != 0) return;  // the batch grows until the sync in flight is done
  in_flight_.swap(batch_);
  batch_.clear();
  in_flight_lsn_ = appended_;
  lock.unlock();
  cv_.notify_one();
}

void wal_writer::mark_durable(uint64_t lsn) {
  if (lsn > durable_) durable_ = lsn;
  flush();  // what piled up meanwhile goes next
}

void wal_writer::io_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || in_flight_lsn_ != 0; });
    if (in_flight_lsn_ == 0 && stop_) return;
    std::string data;
    data.swap(in_flight_);
    uint64_t lsn = in_flight_lsn_;
    lock.unlock();
    if (tap_ && !dead_) tap_(data, lsn);
    bool ok = !dead_ && write_and_sync(data);
    if (ok) {
      // Counted a batch at a time on this thread: the shards' hot path touches no shared line.
      durability().records_appended.fetch_add(lsn - counted_lsn_, std::memory_order_relaxed);
      counted_lsn_ = lsn;
    }
    if (ok && next_segment_ && (segment_size_ += data.size()) >= segment_bytes_) {
      // The segment is whole and synced; the next batch starts the next one.
      auto next = next_segment_(lsn + 1);
      if (next) {
        device_ = std::move(next);
        segment_size_ = 0;
      } else {
        dead_ = true;
        on_fatal_("segment creation");
        ok = false;
      }
    }
    lock.lock();
    in_flight_lsn_ = 0;
    if (!ok) {
      // The data may be lost: acknowledge nothing, now or later (production never gets
      // here: the fatal handler ended the process).
      continue;
    }
    lock.unlock();
    synced_(lsn);
    lock.lock();
  }
}

}  // namespace stampede::wal
