#include "persistence/wal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "persistence/wal_format.h"

namespace stampede::wal {

namespace {

void fatal_io(const char* what) {
  std::fprintf(stderr, "stampede: fatal: WAL %s failed: %s; nothing it carried was acknowledged\n",
               what, std::strerror(errno));
  std::_Exit(70);
}

// The log file itself.
class posix_file final : public log_device {
 public:
  explicit posix_file(int fd) : fd_(fd) {}
  ~posix_file() override { ::close(fd_); }
  bool append(std::string_view bytes) override {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool sync() override { return ::fdatasync(fd_) == 0; }

 private:
  int fd_;
};

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string wal_writer::open(const std::string& path, uint64_t valid_bytes,
                             uint64_t last_sequence, std::function<void(uint64_t)> synced,
                             std::unique_ptr<wal_writer>& out) {
  bool existed = ::access(path.c_str(), F_OK) == 0;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0 ||
      ::lseek(fd, static_cast<off_t>(valid_bytes), SEEK_SET) < 0 || ::fdatasync(fd) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return "cannot prepare " + path + ": " + err;
  }
  if (!existed) {
    // A new file is durable only once its directory entry is.
    int dir = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || ::fsync(dir) != 0) {
      std::string err = std::strerror(errno);
      if (dir >= 0) ::close(dir);
      ::close(fd);
      return "cannot sync the directory of " + path + ": " + err;
    }
    ::close(dir);
  }
  out = std::make_unique<wal_writer>(std::make_unique<posix_file>(fd), last_sequence,
                                     std::move(synced), fatal_io);
  return "";
}

wal_writer::wal_writer(std::unique_ptr<log_device> device, uint64_t last_sequence,
                       std::function<void(uint64_t)> synced, fatal_handler on_fatal)
    : device_(std::move(device)),
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
  if (!batch_.empty() && !dead_) write_and_sync(batch_);
}

bool wal_writer::write_and_sync(const std::string& data) {
  if (!device_->append(data)) {
    dead_ = true;
    on_fatal_("write");
    return false;
  }
  if (!device_->sync()) {
    dead_ = true;
    on_fatal_("fdatasync");
    return false;
  }
  return true;
}

uint64_t wal_writer::append(const effect& e) {
  append_record(batch_, ++appended_, e);
  return appended_;
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
    bool ok = !dead_ && write_and_sync(data);
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
