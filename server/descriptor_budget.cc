#include "server/descriptor_budget.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "server/transport_limits.h"

namespace stampede::http {

bool descriptor_budget::take() {
  size_t now = open_.fetch_add(1, std::memory_order_relaxed);
  if (now < max_) return true;
  open_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

size_t raise_descriptor_limit(std::string& report) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    report = std::string("cannot read the file descriptor limit: ") + std::strerror(errno);
    return 1024;
  }
  const rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      report = "cannot raise the file descriptor limit from " + std::to_string(before) + ": " +
               std::strerror(errno);
      return before;
    }
    report = "file descriptors: soft limit raised from " + std::to_string(before) + " to " +
             std::to_string(lim.rlim_cur) + " (the hard limit)";
  } else {
    report = "file descriptors: limit " + std::to_string(lim.rlim_cur) + " (already the hard limit)";
  }
  return lim.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(lim.rlim_cur);
}

size_t connections_allowed(size_t descriptor_limit) {
  return descriptor_limit > descriptors_reserved ? descriptor_limit - descriptors_reserved : 0;
}

}  // namespace stampede::http
