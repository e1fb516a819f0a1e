// WebSocket fan-out load: many subscribers on one server, while a driver makes changes.
//
//   ws_fanout --port P --secret S product [--connections N] [--products K] [--rate R] [--seconds T]
//     N connections each subscribe to the same K products; the driver adds and removes cart
//     lines on them, R changes a second in all. The server coalesces availability to at most
//     10 messages a second a product, so at most N * K * 10 messages a second can come.
//   ws_fanout --port P --secret S orders [--connections N] [--seconds T]
//     N users each place an order and watch it on its own connection (order:{id}); the driver
//     then pays each order and moves it through processing, shipped, out_for_delivery and
//     delivered, as fast as it can.
//
// Reports messages delivered a second, delivery latency (now minus the message's "at",
// milliseconds: both clocks are this machine's), and the server's memory per connection
// (its VmRSS before and after the connections open; --pid). One epoll thread reads every
// connection; the driver runs on its own threads. Run it on a quiet machine.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "server/auth.h"
#include "server/rfc3339.h"

namespace {

using stampede::http::sign_token;

struct options {
  std::string mode;
  int port = 8080;
  std::string secret = "stampede-dev-secret";
  int connections = 10'000;
  int products = 1;
  int rate = 1000;
  int seconds = 10;
  int pid = 0;
  int driver_threads = 4;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

long rss_kb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

int connect_to(int port, bool blocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A blocking keep-alive HTTP/1.1 client, enough for the setup and the driver.
struct http_client {
  int fd = -1;
  int port;
  std::string buf;
  explicit http_client(int p) : port(p) { fd = connect_to(port, true); }
  ~http_client() {
    if (fd >= 0) ::close(fd);
  }
  // Returns (status, body).
  std::pair<int, std::string> request(const std::string& method, const std::string& path,
                                      const std::string& token, const std::string& body = "") {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return {0, ""};
    for (;;) {
      auto head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        int status = std::atoi(buf.c_str() + 9);
        size_t length = 0;
        auto cl = buf.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) length = std::stoul(buf.substr(cl + 16));
        if (buf.size() >= head_end + 4 + length) {
          std::string out = buf.substr(head_end + 4, length);
          buf.erase(0, head_end + 4 + length);
          return {status, out};
        }
      }
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return {0, ""};
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
};

std::string json_field(const std::string& body, const std::string& key) {
  auto at = body.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  at += key.size() + 4;
  return body.substr(at, body.find('"', at) - at);
}

std::string masked_text_frame(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

struct conn {
  int fd = -1;
  std::string token;
  std::vector<std::string> topics;
  std::string in;
  bool upgraded = false;
  int subscribed = 0;
};

struct counters {
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> subscribed{0};
  std::vector<uint64_t> latency_ms = std::vector<uint64_t>(2001);  // reader thread only
  uint64_t timed = 0;
};

// Handles whole frames in c.in: counts messages, times the ones with an "at".
void consume(conn& c, counters& k, bool measuring) {
  size_t pos = 0;
  for (;;) {
    if (!c.upgraded) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        std::fprintf(stderr, "upgrade refused: %s\n", c.in.substr(0, end).c_str());
        std::exit(1);
      }
      c.upgraded = true;
      c.in.erase(0, end + 4);
      std::string out;
      for (const auto& t : c.topics) out += masked_text_frame(R"({"op":"subscribe","topic":")" + t + "\"}");
      (void)!::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
      continue;
    }
    if (c.in.size() - pos < 2) break;
    auto b1 = static_cast<unsigned char>(c.in[pos + 1]);
    size_t len = b1 & 0x7f, head = 2;
    if (len == 126) {
      if (c.in.size() - pos < 4) break;
      len = (static_cast<unsigned char>(c.in[pos + 2]) << 8) | static_cast<unsigned char>(c.in[pos + 3]);
      head = 4;
    } else if (len == 127) {
      if (c.in.size() - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(c.in[pos + 2 + i]);
      head = 10;
    }
    if (c.in.size() - pos < head + len) break;
    std::string_view msg(c.in.data() + pos + head, len);
    int opcode = static_cast<unsigned char>(c.in[pos]) & 0x0f;
    if (opcode == 0x9) {  // ping: answer it
      std::string pong;
      pong.push_back(static_cast<char>(0x8A));
      pong.push_back(static_cast<char>(0x80));
      pong.append("\0\0\0\0", 4);
      (void)!::send(c.fd, pong.data(), pong.size(), MSG_NOSIGNAL);
    } else if (msg.find("\"type\":\"subscribed\"") != std::string_view::npos) {
      ++c.subscribed;
      ++k.subscribed;
    } else if (measuring) {
      ++k.messages;
      auto at = msg.find("\"at\":\"");
      if (at != std::string_view::npos) {
        auto t = stampede::http::parse_rfc3339_ms(msg.substr(at + 6, msg.find('"', at + 6) - at - 6));
        if (t) {
          int64_t d = std::clamp<int64_t>(now_ms() - *t, 0, 2000);
          ++k.latency_ms[static_cast<size_t>(d)];
          ++k.timed;
        }
      }
    }
    pos += head + len;
  }
  c.in.erase(0, pos);
}

double percentile(const counters& k, double p) {
  uint64_t want = static_cast<uint64_t>(p * static_cast<double>(k.timed)), seen = 0;
  for (size_t i = 0; i < k.latency_ms.size(); ++i) {
    seen += k.latency_ms[i];
    if (seen > want) return static_cast<double>(i);
  }
  return 2000;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") o.port = std::stoi(next());
    else if (a == "--secret") o.secret = next();
    else if (a == "--connections") o.connections = std::stoi(next());
    else if (a == "--products") o.products = std::stoi(next());
    else if (a == "--rate") o.rate = std::stoi(next());
    else if (a == "--seconds") o.seconds = std::stoi(next());
    else if (a == "--pid") o.pid = std::stoi(next());
    else if (a == "--driver-threads") o.driver_threads = std::stoi(next());
    else o.mode = a;
  }
  if (o.mode != "product" && o.mode != "orders") {
    std::fprintf(stderr, "usage: ws_fanout --port P --secret S product|orders [--connections N] "
                         "[--products K] [--rate R] [--seconds T] [--pid SERVER_PID]\n");
    return 2;
  }
  const int64_t exp = now_ms() / 1000 + 3600;
  const std::string admin = sign_token(o.secret, "fanout-admin", "admin", exp);
  const std::string run = std::to_string(now_ms());
  http_client setup(o.port);
  std::vector<conn> conns(static_cast<size_t>(o.connections));
  std::vector<std::string> products, orders, users;
  if (o.mode == "product") {
    for (int p = 0; p < o.products; ++p) {
      std::string id = "fan-" + run + "-" + std::to_string(p);
      auto r = setup.request("POST", "/v1/admin/products", admin,
                             R"({"id":")" + id + R"(","name":"Fan","price":100,"on_hand":1000000})");
      if (r.first != 201) {
        std::fprintf(stderr, "create product: %d %s\n", r.first, r.second.c_str());
        return 1;
      }
      products.push_back(id);
    }
    for (auto& c : conns)
      for (const auto& p : products) c.topics.push_back("product:" + p);
  } else {
    std::printf("placing %d orders...\n", o.connections);
    std::string id = "fan-" + run;
    setup.request("POST", "/v1/admin/products", admin,
                  R"({"id":")" + id + R"(","name":"Fan","price":100,"on_hand":1000000})");
    for (int i = 0; i < o.connections; ++i) {
      std::string user = "fan-" + run + "-" + std::to_string(i);
      std::string t = sign_token(o.secret, user, "customer", exp);
      setup.request("POST", "/v1/cart/items", t, R"({"product_id":")" + id + R"(","quantity":1})");
      auto a = setup.request("POST", "/v1/addresses", t,
                             R"({"name":"N","line1":"L","city":"C","postal_code":"1","country":"GB"})");
      auto ord = setup.request("POST", "/v1/orders", t,
                               R"({"shipping_address_id":")" + json_field(a.second, "id") +
                                   R"(","shipping_method":"standard"})");
      if (ord.first != 201) {
        std::fprintf(stderr, "order: %d %s\n", ord.first, ord.second.c_str());
        return 1;
      }
      orders.push_back(json_field(ord.second, "id"));
      conns[static_cast<size_t>(i)].token = t;
      conns[static_cast<size_t>(i)].topics = {"order:" + orders.back()};
      users.push_back(t);
    }
  }

  // Open every connection and subscribe.
  long rss_before = rss_kb(o.pid);
  int ep = ::epoll_create1(0);
  counters k;
  for (size_t i = 0; i < conns.size(); ++i) {
    conn& c = conns[i];
    c.fd = connect_to(o.port, false);
    if (c.fd < 0) {
      std::fprintf(stderr, "connect failed at %zu: %s\n", i, std::strerror(errno));
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  std::vector<bool> sent_upgrade(conns.size());
  std::vector<epoll_event> events(4096);
  auto pump = [&](int timeout_ms, bool measuring) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int e = 0; e < n; ++e) {
      size_t i = events[e].data.u64;
      conn& c = conns[i];
      if ((events[e].events & EPOLLOUT) && !sent_upgrade[i]) {
        sent_upgrade[i] = true;
        std::string req = "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        if (!c.token.empty()) req += "Authorization: Bearer " + c.token + "\r\n";
        req += "\r\n";
        (void)!::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
      }
      if (events[e].events & EPOLLIN) {
        char buf[65536];
        for (;;) {
          ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
          if (got <= 0) break;
          c.in.append(buf, static_cast<size_t>(got));
        }
        consume(c, k, measuring);
      }
    }
  };
  const uint64_t want = conns.size() * (o.mode == "product" ? products.size() : 1);
  auto open_start = std::chrono::steady_clock::now();
  while (k.subscribed < want) {
    pump(100, false);
    if (std::chrono::steady_clock::now() - open_start > std::chrono::seconds(60)) {
      std::fprintf(stderr, "only %llu of %llu subscriptions answered\n",
                   static_cast<unsigned long long>(k.subscribed.load()), static_cast<unsigned long long>(want));
      return 1;
    }
  }
  double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long rss_after = rss_kb(o.pid);
  std::printf("%zu connections, %llu subscriptions in %.2f s\n", conns.size(),
              static_cast<unsigned long long>(want), open_s);
  if (o.pid > 0)
    std::printf("server RSS %ld -> %ld KB: %.1f KB a connection (%.0f connections a GiB)\n", rss_before,
                rss_after, static_cast<double>(rss_after - rss_before) / static_cast<double>(conns.size()),
                static_cast<double>(conns.size()) * 1024.0 * 1024.0 / std::max(1.0, static_cast<double>(rss_after - rss_before)));

  // The driver.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> changes{0};
  std::vector<std::thread> drivers;
  for (int d = 0; d < o.driver_threads; ++d) {
    drivers.emplace_back([&, d] {
      http_client h(o.port);
      if (o.mode == "product") {
        std::string t = sign_token(o.secret, "fan-driver-" + run + "-" + std::to_string(d), "customer", exp);
        const double per_thread = static_cast<double>(o.rate) / o.driver_threads;
        auto start = std::chrono::steady_clock::now();
        for (uint64_t n = 0; !stop; ++n) {
          const std::string& p = products[n % products.size()];
          if (n % 2 == 0)
            h.request("POST", "/v1/cart/items", t, R"({"product_id":")" + p + R"(","quantity":1})");
          else
            h.request("DELETE", "/v1/cart/items/" + p, t);
          ++changes;
          auto due = start + std::chrono::duration<double>(static_cast<double>(n + 1) / per_thread);
          std::this_thread::sleep_until(due);
        }
      } else {
        static const char* steps[] = {"processing", "shipped", "out_for_delivery", "delivered"};
        for (size_t i = static_cast<size_t>(d); i < orders.size() && !stop; i += static_cast<size_t>(o.driver_threads)) {
          h.request("POST", "/v1/orders/" + orders[i] + "/payments", users[i],
                    R"({"method":"card","amount":600,"card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}})");
          ++changes;
          for (const char* s : steps) {
            h.request("POST", "/v1/admin/orders/" + orders[i] + "/status", admin,
                      std::string(R"({"status":")") + s + R"(","tracking_number":"1Z"})");
            ++changes;
          }
        }
      }
    });
  }
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::seconds(o.seconds);
  while (std::chrono::steady_clock::now() < end) pump(50, true);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t got = k.messages;
  stop = true;
  for (auto& t : drivers) t.join();
  std::printf("%s: %llu changes driven (%.0f/s); %llu messages delivered in %.1f s: %.0f messages/s\n",
              o.mode.c_str(), static_cast<unsigned long long>(changes.load()),
              static_cast<double>(changes.load()) / secs, static_cast<unsigned long long>(got), secs,
              static_cast<double>(got) / secs);
  std::printf("latency (now - at), %llu timed: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              static_cast<unsigned long long>(k.timed), percentile(k, 0.50), percentile(k, 0.99),
              percentile(k, 0.99999));
  for (auto& c : conns) ::close(c.fd);
  return 0;
}
