// The blocking client of the load tools' set-up and audits: every request obeys its timeout,
// also against a server that accepts the connection and never answers (its blocking reads
// would otherwise wait forever), and says what timed out.
#include "loadtest/sync_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace stampede::load {
namespace {

using namespace std::chrono_literals;

// A listening socket whose connections are accepted and read, never answered.
class blackhole {
 public:
  blackhole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0;) accepted_.push_back(c);
    });
  }
  ~blackhole() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    for (int c : accepted_) ::close(c);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<int> accepted_;  // the acceptor's own until it is joined
};

TEST(SyncClient, ARequestToAServerThatNeverAnswersTimesOutAndSaysWhat) {
  blackhole server;
  std::string error;
  auto t = parse_target("http://127.0.0.1:" + std::to_string(server.port()), error);
  ASSERT_TRUE(t) << error;
  sync_client c(*t, 200ms);
  auto a = c.request("GET", "/readyz");
  EXPECT_EQ(a.status, 0u);
  EXPECT_TRUE(a.timed_out);
  EXPECT_NE(a.error.find("GET /readyz"), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("200 ms"), std::string::npos) << a.error;
  // The next request opens a new connection, and times out the same way.
  auto b = c.request("POST", "/v1/admin/products", "token", "{}");
  EXPECT_TRUE(b.timed_out);
  EXPECT_NE(b.error.find("POST /v1/admin/products"), std::string::npos) << b.error;
}

TEST(SyncClient, ARefusedConnectionIsNotATimeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);  // bound, not listening: connections are refused
  std::string error;
  auto t = parse_target("127.0.0.1:" + std::to_string(port), error);
  ASSERT_TRUE(t) << error;
  sync_client c(*t, 5s);
  auto answer = c.request("GET", "/readyz");
  ::close(fd);
  EXPECT_EQ(answer.status, 0u);
  EXPECT_FALSE(answer.timed_out);
  EXPECT_NE(answer.error.find("cannot connect"), std::string::npos) << answer.error;
}

}  // namespace
}  // namespace stampede::load
