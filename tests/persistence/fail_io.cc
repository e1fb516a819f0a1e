// An LD_PRELOAD shim for fault injection: STAMPEDE_FAIL_FDATASYNC_AT=N makes the Nth
// fdatasync fail with EIO; STAMPEDE_FAIL_WRITE_AT=N does the same to the Nth write or pwrite
// to a regular file (sockets and terminals are left alone; the log writes with pwrite).
// Every later call fails too, as a dying disk would.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace {
std::atomic<long> fdatasyncs{0}, writes{0};

long limit(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atol(v) : 0;
}
}  // namespace

extern "C" int fdatasync(int fd) {
  static auto real = reinterpret_cast<int (*)(int)>(dlsym(RTLD_NEXT, "fdatasync"));
  static long at = limit("STAMPEDE_FAIL_FDATASYNC_AT");
  if (at > 0 && ++fdatasyncs >= at) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

// Whether this write to `fd` is the one that fails, or after it.
static bool write_fails(int fd) {
  static long at = limit("STAMPEDE_FAIL_WRITE_AT");
  struct stat st;
  return at > 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ++writes >= at;
}

extern "C" ssize_t write(int fd, const void* buf, size_t count) {
  static auto real = reinterpret_cast<ssize_t (*)(int, const void*, size_t)>(dlsym(RTLD_NEXT, "write"));
  if (write_fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buf, count);
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static auto real =
      reinterpret_cast<ssize_t (*)(int, const void*, size_t, off_t)>(dlsym(RTLD_NEXT, "pwrite"));
  if (write_fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buf, count, offset);
}

// The same function under glibc's other name for it.
extern "C" ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset)
    __attribute__((alias("pwrite")));
