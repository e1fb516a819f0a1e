// The open-model client core: the connection cap, latency counted from when a request was
// due (also while it waited for a connection), timeouts, resending only what is safe to
// resend, refused connects; and the schedules' due instants. Against a small blocking server
// on a loopback port in this process. Timing checks are lower bounds only: a slow machine
// makes the latencies longer, never shorter.
#include "loadtest/http_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "loadtest/schedule.h"

namespace stampede::load {
namespace {

using namespace std::chrono_literals;

// What the server does with the n-th request it reads (0-based, across connections).
struct behaviour {
  std::chrono::milliseconds delay{0};
  bool never_answer = false;
  bool close_after = false;  // close the connection after answering, without saying so
};

class test_server {
 public:
  explicit test_server(std::function<behaviour(int)> plan) : plan_(std::move(plan)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 128);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~test_server() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    stop_cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  uint16_t port() const { return port_; }
  int max_concurrent() const { return max_concurrent_; }
  int closed_by_server() const { return closed_by_server_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mutex_);
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    int now = ++concurrent_;
    for (int seen = max_concurrent_;
         now > seen && !max_concurrent_.compare_exchange_weak(seen, now);) {
    }
    std::string buffer;
    char chunk[4096];
    while (!stopping_) {
      auto end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<size_t>(n));
        continue;
      }
      buffer.erase(0, end + 4);
      behaviour b = plan_(requests_++);
      if (b.never_answer) {
        std::unique_lock lock(mutex_);
        stop_cv_.wait(lock, [this] { return stopping_.load(); });
        break;
      }
      std::this_thread::sleep_for(b.delay);
      static const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      if (b.close_after) {
        ++closed_by_server_;
        break;
      }
    }
    --concurrent_;
    ::shutdown(fd, SHUT_RDWR);
  }

  std::function<behaviour(int)> plan_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0}, concurrent_{0}, max_concurrent_{0}, closed_by_server_{0};
};

target local(uint16_t port) {
  return target{"127.0.0.1", port, "127.0.0.1:" + std::to_string(port)};
}

http_request get(bool resendable = true) {
  return {build_request("GET", "/", "127.0.0.1", "", "", ""), resendable};
}

// Sends `n` requests due now; runs until every one has an answer; returns them in order.
std::vector<http_answer> send_all(http_pool& pool, asio::io_context& io, int n) {
  std::vector<http_answer> answers(n);
  int left = n;
  auto due = steady::now();
  for (int i = 0; i < n; ++i)
    pool.send(due, get(), [&, i](http_answer&& a) {
      answers[i] = std::move(a);
      if (--left == 0) pool.shutdown();
    });
  io.run_for(30s);
  EXPECT_EQ(left, 0);
  return answers;
}

TEST(HttpPool, NeverOpensMoreConnectionsThanItsCap) {
  test_server server([](int) { return behaviour{2ms}; });
  asio::io_context io;
  http_pool pool(io, local(server.port()), pool_options{.connections_max = 4});
  auto answers = send_all(pool, io, 64);
  for (const auto& a : answers) EXPECT_EQ(a.status, 200u);
  EXPECT_LE(server.max_concurrent(), 4);
  EXPECT_LE(pool.connects(), 4u);
}

TEST(HttpPool, ARequestWaitingForAConnectionCountsFromWhenItWasDue) {
  test_server server([](int n) { return behaviour{n == 0 ? 300ms : 0ms}; });
  asio::io_context io;
  http_pool pool(io, local(server.port()), pool_options{.connections_max = 1});
  auto answers = send_all(pool, io, 2);
  ASSERT_EQ(answers[1].status, 200u);
  // The second was due with the first and waited here behind it: the stall is in its latency.
  EXPECT_GE(answers[1].latency(), 300ms);
  EXPECT_GE(answers[0].latency(), 300ms);
}

TEST(HttpPool, AnUnansweredRequestTimesOut) {
  test_server server([](int) { return behaviour{.never_answer = true}; });
  asio::io_context io;
  http_pool pool(io, local(server.port()), pool_options{.connections_max = 2, .timeout = 100ms});
  auto answers = send_all(pool, io, 3);
  for (const auto& a : answers) {
    EXPECT_EQ(a.status, 0u);
    EXPECT_EQ(a.failed, failure::timed_out);
    EXPECT_GE(a.latency(), 100ms);
  }
}

TEST(HttpPool, OnlyResendableRequestsAreSentAgainWhenTheServerClosedAnIdleConnection) {
  test_server server([](int) { return behaviour{.close_after = true}; });
  asio::io_context io;
  http_pool pool(io, local(server.port()), pool_options{.connections_max = 1});
  std::vector<http_answer> answers;
  auto next = [&](bool resendable, auto then) {
    pool.send(steady::now(), get(resendable), [&, then](http_answer&& a) mutable {
      answers.push_back(std::move(a));
      then();
    });
  };
  // Each answer is followed by a silent close; the next request goes out on that connection
  // once the server has closed it.
  auto after_close = [&](auto then) {
    auto deadline = steady::now() + 5s;  // the server closes after each answer it gave
    while (server.closed_by_server() < static_cast<int>(answers.size())) {
      if (steady::now() > deadline) {
        ADD_FAILURE() << "the server closed " << server.closed_by_server() << " connections for "
                      << answers.size() << " answers";
        return pool.shutdown();
      }
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(20ms);
    then();
  };
  next(true, [&] {
    after_close(
        [&] { next(true, [&] { after_close([&] { next(false, [&] { pool.shutdown(); }); }); }); });
  });
  io.run_for(30s);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].status, 200u);
  EXPECT_EQ(answers[1].status, 200u);             // resent on a new connection
  EXPECT_EQ(answers[2].failed, failure::closed);  // not resendable: reported, not repeated
  EXPECT_EQ(pool.connects(), 2u);
}

TEST(HttpPool, ARefusedConnectionFailsTheRequest) {
  uint16_t port;
  {
    test_server gone([](int) { return behaviour{}; });
    port = gone.port();
  }
  asio::io_context io;
  http_pool pool(io, local(port), pool_options{});
  auto answers = send_all(pool, io, 2);
  for (const auto& a : answers) EXPECT_EQ(a.failed, failure::connect);
}

TEST(Pacer, StampsEachRequestWithItsOwnDueInstant) {
  asio::io_context io;
  auto start = steady::now() + 10ms;
  std::vector<std::pair<uint64_t, steady::time_point>> seen;
  pacer p(io, start, 1000.0, 50,
          [&](uint64_t i, steady::time_point due) { seen.emplace_back(i, due); });
  p.begin();
  io.run_for(30s);
  ASSERT_EQ(seen.size(), 50u);
  for (uint64_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, i);
    EXPECT_EQ(seen[i].second, start + std::chrono::milliseconds(i));
  }
}

TEST(Scheduler, RunsActionsInDueOrderEachToldItsInstant) {
  asio::io_context io;
  scheduler s(io);
  auto t0 = steady::now() + 5ms;
  std::vector<int> order;
  std::vector<steady::time_point> dues;
  for (int i : {3, 1, 2, 0}) {
    s.at(t0 + std::chrono::milliseconds(i * 3), [&, i](steady::time_point due) {
      order.push_back(i);
      dues.push_back(due);
      if (i == 1) s.at(t0, [&](steady::time_point d) { order.push_back(9), dues.push_back(d); });
    });
  }
  io.run_for(30s);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 9, 2, 3}));
  EXPECT_EQ(dues[2], t0);  // a late action is still told when it was due
  EXPECT_EQ(dues[3], t0 + 6ms);
}

TEST(ParseTarget, TakesHostAndPortWithOrWithoutTheHttpScheme) {
  std::string error;
  auto t = parse_target("http://127.0.0.1:8080", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->host_header, "127.0.0.1:8080");
  auto slash = parse_target("http://localhost:81/", error);
  ASSERT_TRUE(slash) << error;
  EXPECT_EQ(slash->host_header, "localhost:81");
  auto bare = parse_target("localhost", error);
  ASSERT_TRUE(bare) << error;
  EXPECT_EQ(bare->port, 80);
}

TEST(ParseTarget, RefusesAPathRatherThanDroppingIt) {
  for (const char* url : {"http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/",
                          "127.0.0.1:8080/api", "http://host:1?x=1"}) {
    std::string error;
    EXPECT_FALSE(parse_target(url, error)) << url;
    EXPECT_NE(error.find("without a path"), std::string::npos) << url << ": " << error;
  }
}

TEST(ParseTarget, RefusesASchemeOtherThanHttp) {
  for (const char* url : {"ftp://x", "ftp://x:21", "ws://127.0.0.1:8080", "https://127.0.0.1:1"}) {
    std::string error;
    EXPECT_FALSE(parse_target(url, error)) << url;
    EXPECT_NE(error.find("not spoken"), std::string::npos) << url << ": " << error;
  }
}

}  // namespace
}  // namespace stampede::load
