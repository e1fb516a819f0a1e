// The startup responder: what the listen address answers while the store recovers.
#include "server/startup_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace stampede::http {
namespace {

// Sends `request` to 127.0.0.1:port and returns the whole answer ("" if refused).
std::string ask(unsigned short port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(StartupResponder, AnswersProbesAndShedsEverythingElseUntilStopped) {
  startup_responder r;
  ASSERT_EQ(r.start("127.0.0.1", 0), "");
  ASSERT_NE(r.port(), 0);

  std::string health = ask(r.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << health;
  EXPECT_NE(health.find(R"({"status":"ok"})"), std::string::npos);

  std::string ready = ask(r.port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ready.rfind("HTTP/1.1 503 ", 0), 0u) << ready;
  EXPECT_NE(ready.find(R"({"status":"starting"})"), std::string::npos);

  std::string order = ask(r.port(), "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(order.rfind("HTTP/1.1 503 ", 0), 0u) << order;
  EXPECT_NE(order.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(order.find(R"("code":"overloaded")"), std::string::npos);

  // Garbage gets the same shed answer, not a crash.
  EXPECT_EQ(ask(r.port(), std::string("\0\xff\r\n\r\n", 6)).rfind("HTTP/1.1 503 ", 0), 0u);

  unsigned short port = r.port();
  r.stop();
  EXPECT_EQ(ask(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "");
}

TEST(StartupResponder, ABadAddressIsRefused) {
  startup_responder r;
  EXPECT_NE(r.start("not-an-address", 0), "");
}

}  // namespace
}  // namespace stampede::http
