// The startup responder: what the listen address answers while the store recovers.
#include "server/startup_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace stampede::http {
namespace {

// A connection to 127.0.0.1:port whose reads give up after 5 s (-1 if refused).
int dial(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Everything the server sends until it closes (or 5 s pass without a byte).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Sends `request` to 127.0.0.1:port and returns the whole answer ("" if refused).
std::string ask(unsigned short port, const std::string& request) {
  int fd = dial(port);
  if (fd < 0) return "";
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out = read_all(fd);
  ::close(fd);
  return out;
}

// A client that sends a request head a byte at a time, as slowly as it likes, until stopped.
class trickler {
 public:
  explicit trickler(unsigned short port) : fd_(dial(port)) {
    thread_ = std::thread([this] {
      const std::string head = "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
      for (size_t i = 0; !stop_; ++i) {
        char c = i < head.size() ? head[i] : 'a';
        if (::send(fd_, &c, 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~trickler() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

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
  EXPECT_NE(order.find(R"("details":{})"), std::string::npos) << "the API's error shape has details";

  // Garbage gets the same shed answer, not a crash.
  EXPECT_EQ(ask(r.port(), std::string("\0\xff\r\n\r\n", 6)).rfind("HTTP/1.1 503 ", 0), 0u);

  unsigned short port = r.port();
  r.stop();
  EXPECT_EQ(ask(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "");
}

TEST(StartupResponder, ASlowClientHoldsNoOtherConnection) {
  startup_responder r;
  ASSERT_EQ(r.start("127.0.0.1", 0), "");
  trickler slow(r.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // it is mid-head
  // Every other client is answered while the slow one is still sending.
  std::vector<std::future<std::string>> others;
  for (int i = 0; i < 20; ++i)
    others.push_back(std::async(std::launch::async, [&] {
      return ask(r.port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    }));
  for (auto& f : others) EXPECT_EQ(f.get().rfind("HTTP/1.1 503 ", 0), 0u);
  r.stop();
}

TEST(StartupResponder, AHeadThatNeverEndsIsCutAtItsDeadline) {
  startup_responder r;
  ASSERT_EQ(r.start("127.0.0.1", 0), "");
  trickler slow(r.port());
  // The responder gives up on the head (startup_head_timeout_ms) and closes: the read ends
  // with the connection, well before the client's own 5 s read timeout.
  auto start = std::chrono::steady_clock::now();
  std::string got = read_all(slow.fd());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(4000));
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
  r.stop();
}

TEST(StartupResponder, StoppingDoesNotWaitForASlowClient) {
  startup_responder r;
  ASSERT_EQ(r.start("127.0.0.1", 0), "");
  trickler slow(r.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Recovery is over: the shards take the address at once, whatever the slow client does.
  auto start = std::chrono::steady_clock::now();
  r.stop();
  // Not the slow client's head deadline (2 s): room for a loaded machine's thread wake-ups.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
}

// SIGTERM with a client still in the responder (half a head, held open): the process's exit
// waits for the responder's thread (its destructor), which ends by the head's deadline, idle
// meanwhile, and the client is closed unanswered.
TEST(StartupResponder, AHalfHeadHeldAtTheEndLastsNoLongerThanItsDeadline) {
  auto start = std::chrono::steady_clock::now();
  int fd = -1;
  timespec cpu_before{}, cpu_after{};
  {
    startup_responder r;
    ASSERT_EQ(r.start("127.0.0.1", 0), "");
    fd = dial(r.port());
    ASSERT_GE(fd, 0);
    const std::string half = "GET /readyz HTTP/1.1\r\nHo";
    ASSERT_EQ(::send(fd, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    r.stop();
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_before);
  }  // ~startup_responder: joins its thread
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_after);
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(startup_head_timeout_ms + 2000));
  double cpu_s = static_cast<double>(cpu_after.tv_sec - cpu_before.tv_sec) +
                 static_cast<double>(cpu_after.tv_nsec - cpu_before.tv_nsec) / 1e9;
  EXPECT_LT(cpu_s, 0.5) << "the wait for the client's deadline spun";
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);  // closed (not answered, not left open)
  ::close(fd);
}

TEST(StartupResponder, ABadAddressIsRefused) {
  startup_responder r;
  EXPECT_NE(r.start("not-an-address", 0), "");
}

}  // namespace
}  // namespace stampede::http
