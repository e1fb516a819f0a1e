#include "persistence/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace stampede::wal {

namespace {

// What an errno from creating or opening something in `dir` means for its operator.
std::string unusable(const std::string& dir, const std::string& doing, int err) {
  std::string cause = std::strerror(err);
  switch (err) {
    case ENOTDIR: return dir + " is not a directory (" + doing + ": " + cause + ")";
    case EACCES:
    case EPERM: return dir + " is not writable by this user (" + doing + ": " + cause + ")";
    case EROFS: return dir + " is on a read-only file system (" + doing + ": " + cause + ")";
    case ENOSPC: return dir + " is on a full disk (" + doing + ": " + cause + ")";
    default: return "cannot use " + dir + " (" + doing + ": " + cause + ")";
  }
}

}  // namespace

int lock_data_dir(const std::string& dir, std::string& why) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    why = unusable(dir, "creating it", errno);
    return -1;
  }
  struct stat st {};
  int stat_error = ::stat(dir.c_str(), &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  if (stat_error != 0) {
    why = unusable(dir, "opening it", stat_error);
    return -1;
  }
  int lock = ::open((dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) {
    why = unusable(dir, "creating " + dir + "/LOCK", errno);
    return -1;
  }
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock);
    why = err == EWOULDBLOCK ? dir + " is in use by another stampede"
                             : unusable(dir, "locking " + dir + "/LOCK", err);
    return -1;
  }
  return lock;
}

std::string segment_path(const std::string& dir, uint32_t shard, uint64_t first_sequence) {
  char name[64];
  std::snprintf(name, sizeof name, "/wal-%u-%020llu.log", shard,
                static_cast<unsigned long long>(first_sequence));
  return dir + name;
}

std::vector<segment> list_segments(const std::string& dir, uint32_t shard) {
  std::vector<segment> out;
  std::string prefix = "wal-" + std::to_string(shard) + "-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 20 + 4 || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - 4, 4, ".log") != 0)
      continue;
    uint64_t first = 0;
    const char* digits = name.data() + prefix.size();
    auto [end, err] = std::from_chars(digits, digits + 20, first);
    if (err != std::errc() || end != digits + 20 || first == 0) continue;
    out.push_back({first, entry.path().string()});
  }
  std::sort(out.begin(), out.end(),
            [](const segment& a, const segment& b) { return a.first_sequence < b.first_sequence; });
  return out;
}

uint64_t log_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("wal-", 0) != 0 || name.size() < 8 || name.compare(name.size() - 4, 4, ".log") != 0)
      continue;
    std::error_code size_ec;
    auto n = entry.file_size(size_ec);
    if (!size_ec) total += n;
  }
  return total;
}

bool sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

int create_segment(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  auto slash = path.rfind('/');
  if (!sync_dir(slash == std::string::npos ? "." : path.substr(0, slash))) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

size_t covered_prefix(const std::vector<segment>& segments, uint64_t covered) {
  size_t n = 0;
  while (n + 1 < segments.size() && segments[n + 1].first_sequence <= covered + 1) ++n;
  return n;
}

bool pwrite_all(int fd, const char* p, size_t n, uint64_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
    at += static_cast<uint64_t>(w);
  }
  return true;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace stampede::wal
