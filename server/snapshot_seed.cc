#include "server/snapshot_seed.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "persistence/files.h"
#include "persistence/wal_format.h"

namespace stampede::http {

namespace {

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// host and port of "http://host:port[/...]".
bool split_url(const std::string& url, std::string& host, std::string& port) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return false;
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  host = colon == std::string::npos ? rest : rest.substr(0, colon);
  port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  return !host.empty() && !port.empty();
}

int connect_to(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd >= 0) {
    timeval tv{snapshot_fetch_idle_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  return fd;
}


}  // namespace

std::string fetch_snapshot(const std::string& peer_url, const std::string& token,
                           const std::string& out_path, uint64_t& bytes) {
  std::string host, port;
  if (!split_url(peer_url, host, port)) return "cannot seed from " + peer_url + ": not http://host:port";
  fd_closer sock{connect_to(host, port)};
  if (sock.fd < 0) return "cannot connect to " + peer_url;
  std::string req = "GET /v1/admin/snapshot HTTP/1.1\r\nHost: " + host + ":" + port +
                    "\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n";
  if (!wal::write_all(sock.fd, req.data(), req.size())) return "cannot ask " + peer_url;
  fd_closer out{::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (out.fd < 0) return "cannot write " + out_path + ": " + std::strerror(errno);
  // The head, then everything up to the end of the connection, the trailer's bytes kept
  // back until the end shows which bytes they are.
  std::string head, held;
  bool in_body = false;
  uint64_t body_bytes = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "reading " + peer_url + "'s snapshot: " + std::strerror(errno);
    if (n == 0) break;
    std::string_view got(buf, static_cast<size_t>(n));
    if (!in_body) {
      head.append(got);
      auto end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (head.rfind("HTTP/1.1 200", 0) != 0)
        return peer_url + " did not give its snapshot: " + head.substr(0, head.find('\r'));
      held = head.substr(end + 4);
      in_body = true;
    } else {
      held.append(got);
    }
    if (held.size() > snapshot_trailer_bytes) {
      size_t flush = held.size() - snapshot_trailer_bytes;
      if (!wal::write_all(out.fd, held.data(), flush)) return "cannot write " + out_path;
      body_bytes += flush;
      held.erase(0, flush);
    }
  }
  if (held.size() != snapshot_trailer_bytes ||
      std::memcmp(held.data(), snapshot_trailer_magic, sizeof snapshot_trailer_magic) != 0 ||
      wal::load_u64(held.data() + sizeof snapshot_trailer_magic) != body_bytes)
    return peer_url + "'s snapshot was cut short";
  if (::fdatasync(out.fd) != 0) return "cannot sync " + out_path + ": " + std::strerror(errno);
  bytes = body_bytes;
  return "";
}

}  // namespace stampede::http
