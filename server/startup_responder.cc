#include "server/startup_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace stampede::http {

namespace {

std::string answer_for(std::string_view request) {
  auto line_end = request.find("\r\n");
  std::string_view line = request.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  std::string_view target =
      sp2 == std::string_view::npos ? std::string_view() : line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  std::string status, body, extra;
  if (line.substr(0, sp1) == "GET" && target == "/healthz") {
    status = "200 OK";
    body = R"({"status":"ok"})";
  } else if (line.substr(0, sp1) == "GET" && target == "/readyz") {
    status = "503 Service Unavailable";
    body = R"({"status":"starting"})";
  } else {
    status = "503 Service Unavailable";
    body = R"({"error":{"code":"overloaded","message":"the store is still recovering; try again shortly"}})";
    extra = "Retry-After: 1\r\n";
  }
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "Connection: close\r\n\r\n" + body;
}

}  // namespace

std::string startup_responder::start(const std::string& host, unsigned short port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return "bad listen address " + host;
  }
  fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 128) != 0) {
    std::string err = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return "cannot listen on " + host + ":" + std::to_string(port) + ": " + err;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  thread_ = std::thread([this] { loop(); });
  return "";
}

void startup_responder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void startup_responder::loop() {
  for (;;) {
    // Once stopping, what is already queued is still answered, then the loop ends.
    bool stopping = stop_;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, stopping ? 0 : 50) <= 0) {
      if (stopping) return;
      continue;
    }
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    // One request head, read for at most a second; the body, if any, is not read.
    timeval tv{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string head;
    char buf[2048];
    while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    std::string out = answer_for(head);
    (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }
}

}  // namespace stampede::http
