#include "persistence/recovery.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <filesystem>
#include <thread>

#include "persistence/wal_reader.h"
#include "persistence/wal_writer.h"

namespace stampede::wal {

namespace {

std::string errno_text() { return std::strerror(errno); }

bool sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// MANIFEST names the format and the shard count; records are replayed by the shard that
// wrote them, so the count must not change under a data directory.
std::string check_manifest(const std::string& dir, uint32_t shards) {
  std::string path = dir + "/MANIFEST";
  std::ifstream in(path);
  if (in) {
    std::string format, shards_word;
    uint32_t n = 0;
    in >> format >> shards_word >> n;
    if (format != "stampede-wal-1" || shards_word != "shards" || n == 0)
      return path + " is not a Stampede manifest";
    if (n != shards)
      return dir + " was written with " + std::to_string(n) + " shards; start with --shards " +
             std::to_string(n);
    return "";
  }
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write " + tmp + ": " + errno_text();
  std::string text = "stampede-wal-1 shards " + std::to_string(shards) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0 || !sync_dir(dir))
    return "cannot write " + path + ": " + errno_text();
  return "";
}

}  // namespace

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

std::string open_data_dir(engine& eng, const std::string& dir, recovery_report& report,
                          data_dir_lock& held) {
  auto start = std::chrono::steady_clock::now();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return "cannot create " + dir + ": " + errno_text();
  // One process per data directory.
  int lock = ::open((dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    std::string err = errno_text();
    if (lock >= 0) ::close(lock);
    return dir + " is in use by another stampede (or cannot be locked: " + err + ")";
  }
  held.fd_ = lock;
  if (auto err = check_manifest(dir, eng.shard_count()); !err.empty()) return err;
  // Each shard's log is read and replayed into that shard alone, so the shards replay in
  // parallel, one thread each (the shards' own threads are not running yet).
  std::vector<recovered_shard> shards(eng.shard_count());
  std::vector<read_result> results(eng.shard_count());
  std::vector<std::thread> replayers;
  for (uint32_t i = 0; i < eng.shard_count(); ++i) {
    replayers.emplace_back([&, i] {
      shard& s = eng.shard_at(i);
      // A record is at least ~40 bytes; most are 60 to 120. Room for one entry per 64 bytes
      // of log, capped, costs 8 bytes a slot in each of three bucket arrays.
      std::error_code ec;
      auto bytes = std::filesystem::file_size(dir + "/wal-" + std::to_string(i) + ".log", ec);
      if (!ec) s.reserve_for_replay(std::min<uintmax_t>(bytes / 64, 16'000'000));
      results[i] = read_log(dir + "/wal-" + std::to_string(i) + ".log",
                            [&s](effect&& e) { s.replay(std::move(e)); });
    });
  }
  for (auto& t : replayers) t.join();
  report.replay_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (uint32_t i = 0; i < eng.shard_count(); ++i) {
    const read_result& r = results[i];
    if (r.corruption) return "refusing to start: " + *r.corruption + " (in " + dir + ")";
    report.records += r.records;
    report.bytes += r.valid_bytes;
    report.torn_tails += r.torn_tail;
    shard* owner = &eng.shard_at(i);
    std::unique_ptr<wal_writer> writer;
    auto err = wal_writer::open(
        dir + "/wal-" + std::to_string(i) + ".log", r.valid_bytes, r.last_sequence,
        [owner](uint64_t lsn) {
          owner->post(shard_task{[lsn](shard& s) { s.on_log_synced(lsn); }});
        },
        writer);
    if (!err.empty()) return err;
    shards[i].log = std::move(writer);
  }
  if (auto err = eng.restore(std::move(shards)); !err.empty())
    return "refusing to start: after replay, " + err;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return "";
}

}  // namespace stampede::wal
