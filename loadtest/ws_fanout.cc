// WebSocket fan-out load: many subscribers on one server, while a driver makes changes.
//
//   ws_fanout --port P --secret S product [--connections N] [--products K] [--rate R] [--seconds T]
//     N connections each subscribe to the same K products; the driver takes one unit off each
//     product's stock in turn (POST /v1/admin/products/{id}/stock, delta -1), R changes a
//     second in all, so with R >= 10 * K every product's availability differs at every tick.
//     The server coalesces availability to at most 10 messages a second a product (one a
//     shard tick of 100 ms, plus the tick's own run time), so at most N * K * 10 messages a
//     second can come: the report gives the figure as a share of that bound too.
//   ws_fanout --port P --secret S orders [--connections N] [--seconds T]
//     N users each place an order and watch it on its own connection (order:{id}); the driver
//     then pays each order and moves it through processing, shipped, out_for_delivery and
//     delivered, as fast as it can.
//   ws_fanout --port P --secret S queue [--connections N] [--rate R] [--seconds T] [--sources K]
//     Issue 12's watching figure: a queue drop (R admissions a second, paused while N users
//     join, one ticket each), each user watching its own ticket (queue:{drop}) on its own
//     connection; the drop resumes for T seconds, then the driver takes all its stock and it
//     sells out. Ticket messages carry no "at", so delays are measured from what a control
//     client saw (queue_figures below). --sources K: connect from 127.0.0.2 .. 127.0.0.(K+1),
//     past the ~28k ephemeral ports of one source address.
//
// Reports messages delivered a second, delivery latency (now minus the message's "at",
// milliseconds: both clocks are this machine's), and the server's memory per connection
// (its VmRSS before and after the connections open; --pid). One epoll thread reads every
// connection (--readers R: R threads, each with its own share); each readiness costs one
// recv into a 64 KiB buffer whose frames are parsed in place, and one clock read. The
// driver runs on its own threads. Run it on a quiet machine.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
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
  int readers = 1;
  int sources = 0;  // loopback source addresses 127.0.0.2 ..; 0: the kernel's choice
};

constexpr size_t read_buffer_bytes = 64 * 1024;
constexpr size_t epoll_events_max = 4096;

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

// A process's user and system CPU seconds so far (/proc/PID/stat fields 14 and 15).
std::pair<double, double> cpu_s(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {0, 0};
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double user = 0, sys = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) user = std::stod(field);
    if (i == 15) {
      sys = std::stod(field);
      break;
    }
  }
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return {user / hz, sys / hz};
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

// A non-blocking connect from loopback address 127.0.0.`source` (the port chosen at
// connect, so each source address has its own ephemeral ports towards the server).
int connect_from(int port, int source) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(source));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS)) {
    int saved = errno;
    ::close(fd);
    errno = saved;
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
  std::string in;  // an unfinished frame (or the upgrade answer) only
  bool sent_upgrade = false;
  bool upgraded = false;
  bool closed = false;  // the server ended it (read 0 or an error)
};

// One reader thread's connections and tallies (read by main once the thread is joined).
struct reader {
  int ep = -1;
  std::vector<size_t> conns;
  uint64_t messages = 0;
  uint64_t subscribed = 0;
  std::vector<uint64_t> latency_ms = std::vector<uint64_t>(2001);
  uint64_t timed = 0;
  // A tick's messages all carry the same "at": parse it once.
  std::string last_at;
  int64_t last_at_ms = 0;
  // queue mode: (admissions the message implies, when it came) of each waiting ticket's
  // message, and when each sold_out came.
  bool queue = false;
  std::vector<std::pair<int64_t, int64_t>> positions;
  std::vector<int64_t> sold_out_ms;
};

// The integer after `"key":` in `msg`, or -1 (null or missing).
int64_t json_int(std::string_view msg, std::string_view key) {
  auto at = msg.find(key);
  if (at == std::string_view::npos) return -1;
  at += key.size();
  if (at >= msg.size() || msg[at] < '0' || msg[at] > '9') return -1;
  int64_t v = 0;
  while (at < msg.size() && msg[at] >= '0' && msg[at] <= '9') v = v * 10 + (msg[at++] - '0');
  return v;
}

// A ticket message: a waiting ticket at `position` with `ahead` in front implies that
// position - 1 - ahead tickets in front were admitted (nobody leaves or expires in this
// run); a sold_out one, when it came.
void queue_message(reader& r, std::string_view msg, int64_t now) {
  if (!msg.starts_with(R"({"type":"ticket")")) return;
  if (msg.find(R"("state":"sold_out")") != std::string_view::npos) {
    r.sold_out_ms.push_back(now);
    return;
  }
  if (msg.find(R"("state":"waiting")") == std::string_view::npos) return;
  int64_t position = json_int(msg, R"("position":)"), ahead = json_int(msg, R"("ahead":)");
  if (position > 0 && ahead >= 0) r.positions.emplace_back(position - 1 - ahead, now);
}

// Handles the whole frames at the front of `data`; returns the bytes used.
size_t frames(conn& c, reader& r, std::string_view data, bool measuring, int64_t now) {
  size_t pos = 0;
  for (;;) {
    if (data.size() - pos < 2) break;
    auto b1 = static_cast<unsigned char>(data[pos + 1]);
    size_t len = b1 & 0x7f, head = 2;
    if (len == 126) {
      if (data.size() - pos < 4) break;
      len = (static_cast<unsigned char>(data[pos + 2]) << 8) | static_cast<unsigned char>(data[pos + 3]);
      head = 4;
    } else if (len == 127) {
      if (data.size() - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(data[pos + 2 + i]);
      head = 10;
    }
    if (data.size() - pos < head + len) break;
    std::string_view msg = data.substr(pos + head, len);
    int opcode = static_cast<unsigned char>(data[pos]) & 0x0f;
    pos += head + len;
    if (opcode == 0x9) {  // ping: answer it
      const char pong[6] = {static_cast<char>(0x8A), static_cast<char>(0x80), 0, 0, 0, 0};
      (void)!::send(c.fd, pong, sizeof pong, MSG_NOSIGNAL);
      continue;
    }
    if (msg.starts_with(R"({"type":"subscribed")")) {
      ++r.subscribed;
      continue;
    }
    if (!measuring) continue;
    ++r.messages;
    if (r.queue) {
      queue_message(r, msg, now);
      continue;
    }
    auto at = msg.find(R"("at":")");
    if (at == std::string_view::npos) continue;
    std::string_view stamp = msg.substr(at + 6, msg.find('"', at + 6) - at - 6);
    if (stamp != r.last_at) {
      auto t = stampede::http::parse_rfc3339_ms(stamp);
      if (!t) continue;
      r.last_at.assign(stamp);
      r.last_at_ms = *t;
    }
    ++r.latency_ms[static_cast<size_t>(std::clamp<int64_t>(now - r.last_at_ms, 0, 2000))];
    ++r.timed;
  }
  return pos;
}

// Bytes from one connection: the upgrade's answer first, then frames, parsed where they lie
// (only an unfinished frame is copied, to c.in).
void consume(conn& c, reader& r, std::string_view data, bool measuring, int64_t now) {
  if (!c.upgraded) {
    c.in.append(data);
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
      std::fprintf(stderr, "upgrade refused: %s\n", c.in.substr(0, end).c_str());
      std::exit(1);
    }
    c.upgraded = true;
    std::string out;
    for (const auto& t : c.topics) out += masked_text_frame(R"({"op":"subscribe","topic":")" + t + "\"}");
    (void)!::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    std::string rest = c.in.substr(end + 4);
    c.in.clear();
    if (!rest.empty()) consume(c, r, rest, measuring, now);
    return;
  }
  if (c.in.empty()) {
    size_t used = frames(c, r, data, measuring, now);
    c.in.assign(data.substr(used));
    return;
  }
  c.in.append(data);
  c.in.erase(0, frames(c, r, c.in, measuring, now));
}

double percentile(const reader& k, double p) {
  uint64_t want = static_cast<uint64_t>(p * static_cast<double>(k.timed)), seen = 0;
  for (size_t i = 0; i < k.latency_ms.size(); ++i) {
    seen += k.latency_ms[i];
    if (seen > want) return static_cast<double>(i);
  }
  return 2000;
}

// Waits up to timeout_ms for r's connections, then reads each ready one once: a read that
// fills less than the buffer drained the socket, and the edge-triggered epoll reports the
// next bytes anew, so no second recv is spent to see EAGAIN.
void pump(std::vector<conn>& conns, reader& r, std::vector<epoll_event>& events, std::vector<char>& buf,
          int timeout_ms, bool measuring) {
  int n = ::epoll_wait(r.ep, events.data(), static_cast<int>(events.size()), timeout_ms);
  if (n <= 0) return;
  const int64_t now = now_ms();
  for (int e = 0; e < n; ++e) {
    conn& c = conns[events[e].data.u64];
    if ((events[e].events & EPOLLOUT) && !c.sent_upgrade) {
      c.sent_upgrade = true;
      std::string req = "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
      if (!c.token.empty()) req += "Authorization: Bearer " + c.token + "\r\n";
      req += "\r\n";
      (void)!::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
    }
    if (!(events[e].events & EPOLLIN)) continue;
    for (;;) {
      ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
      if (got == 0 || (got < 0 && errno != EAGAIN)) c.closed = true;
      if (got <= 0) break;
      consume(c, r, std::string_view(buf.data(), static_cast<size_t>(got)), measuring, now);
      if (static_cast<size_t>(got) < buf.size()) break;
    }
  }
}

// The options, or the message of the first that is not one (a number must be all digits,
// within [min, max]).
std::optional<std::string> parse_options(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto number = [&](int& out, int min, int max) -> std::optional<std::string> {
      if (i + 1 >= argc) return a + " needs a value";
      std::string_view v = argv[++i];
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc() || end != v.data() + v.size() || out < min || out > max)
        return a + " must be a whole number in " + std::to_string(min) + ".." + std::to_string(max);
      return std::nullopt;
    };
    std::optional<std::string> bad;
    if (a == "--port") bad = number(o.port, 1, 65535);
    else if (a == "--secret" && i + 1 < argc) o.secret = argv[++i];
    else if (a == "--connections") bad = number(o.connections, 1, 10'000'000);
    else if (a == "--products") bad = number(o.products, 1, 1'000'000);
    else if (a == "--rate") bad = number(o.rate, 1, 10'000'000);
    else if (a == "--seconds") bad = number(o.seconds, 1, 86'400);
    else if (a == "--pid") bad = number(o.pid, 0, std::numeric_limits<int>::max());
    else if (a == "--driver-threads") bad = number(o.driver_threads, 1, 256);
    else if (a == "--readers") bad = number(o.readers, 1, 256);
    else if (a == "--sources") bad = number(o.sources, 0, 250);
    else if (a.rfind("--", 0) == 0) bad = "unknown or incomplete flag " + a;
    else o.mode = a;
    if (bad) return bad;
  }
  return std::nullopt;
}

// What the driver changes and the connections watch.
struct plan {
  std::string run = std::to_string(now_ms());
  int64_t expires_s = now_ms() / 1000 + 3600;
  std::string admin;
  std::vector<std::string> products, orders, users;
};

std::string create_product(http_client& setup, const plan& p, const std::string& id) {
  auto r = setup.request("POST", "/v1/admin/products", p.admin,
                         R"({"id":")" + id + R"(","name":"Fan","price":100,"on_hand":1000000})");
  if (r.first == 201) return "";
  return "create product: " + std::to_string(r.first) + " " + r.second;
}

std::string setup_products(const options& o, plan& p, std::vector<conn>& conns) {
  http_client setup(o.port);
  for (int i = 0; i < o.products; ++i) {
    p.products.push_back("fan-" + p.run + "-" + std::to_string(i));
    if (auto err = create_product(setup, p, p.products.back()); !err.empty()) return err;
  }
  for (auto& c : conns)
    for (const auto& id : p.products) c.topics.push_back("product:" + id);
  return "";
}

std::string setup_orders(const options& o, plan& p, std::vector<conn>& conns) {
  std::printf("placing %d orders...\n", o.connections);
  http_client setup(o.port);
  std::string id = "fan-" + p.run;
  if (auto err = create_product(setup, p, id); !err.empty()) return err;
  for (int i = 0; i < o.connections; ++i) {
    std::string t = sign_token(o.secret, "fan-" + p.run + "-" + std::to_string(i), "customer", p.expires_s);
    setup.request("POST", "/v1/cart/items", t, R"({"product_id":")" + id + R"(","quantity":1})");
    auto a = setup.request("POST", "/v1/addresses", t,
                           R"({"name":"N","line1":"L","city":"C","postal_code":"1","country":"GB"})");
    auto ord = setup.request("POST", "/v1/orders", t,
                             R"({"shipping_address_id":")" + json_field(a.second, "id") +
                                 R"(","shipping_method":"standard"})");
    if (ord.first != 201) return "order: " + std::to_string(ord.first) + " " + ord.second;
    p.orders.push_back(json_field(ord.second, "id"));
    conns[static_cast<size_t>(i)].token = t;
    conns[static_cast<size_t>(i)].topics = {"order:" + p.orders.back()};
    p.users.push_back(t);
  }
  return "";
}

// Connects every connection (upgrade and subscriptions follow from the readers' pumps),
// spread over the readers' epoll sets.
std::string connect_range(const options& o, std::vector<conn>& conns, std::vector<reader>& readers, size_t from,
                          size_t to) {
  for (size_t i = from; i < to; ++i) {
    conns[i].fd = o.sources > 0 ? connect_from(o.port, 2 + static_cast<int>(i % static_cast<size_t>(o.sources)))
                                : connect_to(o.port, false);
    if (conns[i].fd < 0) return "connect failed at " + std::to_string(i) + ": " + std::strerror(errno);
    reader& r = readers[i % readers.size()];
    r.conns.push_back(i);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    ::epoll_ctl(r.ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  return "";
}

std::string connect_all(const options& o, std::vector<conn>& conns, std::vector<reader>& readers) {
  for (auto& r : readers) r.ep = ::epoll_create1(0);
  return connect_range(o, conns, readers, 0, conns.size());
}

// The product driver: one unit off each product in turn, `rate` a second over all threads.
void drive_products(const options& o, const plan& p, std::atomic<bool>& stop, std::atomic<uint64_t>& changes,
                    int d) {
  http_client h(o.port);
  const double per_thread = static_cast<double>(o.rate) / o.driver_threads;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t n = 0; !stop; ++n) {
    const std::string& id = p.products[(n * static_cast<uint64_t>(o.driver_threads) + static_cast<uint64_t>(d)) %
                                       p.products.size()];
    h.request("POST", "/v1/admin/products/" + id + "/stock", p.admin, R"({"delta":-1})");
    ++changes;
    std::this_thread::sleep_until(start + std::chrono::duration<double>(static_cast<double>(n + 1) / per_thread));
  }
}

// The orders driver: pays each order, then moves it through to delivered, as fast as it can.
void drive_orders(const options& o, const plan& p, std::atomic<bool>& stop, std::atomic<uint64_t>& changes,
                  int d) {
  http_client h(o.port);
  static const char* steps[] = {"processing", "shipped", "out_for_delivery", "delivered"};
  for (size_t i = static_cast<size_t>(d); i < p.orders.size() && !stop; i += static_cast<size_t>(o.driver_threads)) {
    h.request("POST", "/v1/orders/" + p.orders[i] + "/payments", p.users[i],
              R"({"method":"card","amount":600,"card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}})");
    ++changes;
    for (const char* s : steps) {
      h.request("POST", "/v1/admin/orders/" + p.orders[i] + "/status", p.admin,
                std::string(R"({"status":")") + s + R"(","tracking_number":"1Z"})");
      ++changes;
    }
  }
}

// Pumps every reader from this thread until every subscription is answered.
bool await_subscriptions(std::vector<conn>& conns, std::vector<reader>& readers, uint64_t want) {
  std::vector<epoll_event> events(epoll_events_max);
  std::vector<char> buf(read_buffer_bytes);
  auto open_start = std::chrono::steady_clock::now();
  for (;;) {
    uint64_t got = 0;
    for (auto& r : readers) {
      pump(conns, r, events, buf, readers.size() == 1 ? 100 : 10, false);
      got += r.subscribed;
    }
    if (got >= want) return true;
    if (std::chrono::steady_clock::now() - open_start > std::chrono::seconds(60)) {
      std::fprintf(stderr, "only %llu of %llu subscriptions answered\n", static_cast<unsigned long long>(got),
                   static_cast<unsigned long long>(want));
      return false;
    }
  }
}

void report(const options& o, std::vector<reader>& readers, uint64_t changes, double secs) {
  reader all;
  for (const auto& r : readers) {
    all.messages += r.messages;
    all.timed += r.timed;
    for (size_t i = 0; i < all.latency_ms.size(); ++i) all.latency_ms[i] += r.latency_ms[i];
  }
  std::printf("%s: %llu changes driven (%.0f/s); %llu messages delivered in %.1f s: %.0f messages/s\n",
              o.mode.c_str(), static_cast<unsigned long long>(changes), static_cast<double>(changes) / secs,
              static_cast<unsigned long long>(all.messages), secs, static_cast<double>(all.messages) / secs);
  if (o.mode == "product") {
    const double bound = 10.0 * o.connections * o.products;
    std::printf("  coalescing bound %d x %d x 10 = %.0f a second: %.1f%% of it\n", o.connections, o.products,
                bound, 100.0 * static_cast<double>(all.messages) / secs / bound);
  }
  std::printf("latency (now - at), %llu timed: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              static_cast<unsigned long long>(all.timed), percentile(all, 0.50), percentile(all, 0.99),
              percentile(all, 0.99999));
}


// ---- queue mode (issue 12's watching figure) ----

// What the control client saw: GET /v1/admin/drops/{id} sent and answered, and the
// drop's admissions so far.
struct control_sample {
  int64_t sent_ms = 0, got_ms = 0, admitted = 0;
};

constexpr int64_t queue_on_hand = 1'000'000'000;
// Connections opened before their upgrades are awaited: a batch the server answers within
// its WebSocket handshake timeout (10 s) on a busy machine (10,000 at once lost some).
constexpr size_t queue_connect_batch = 2'000;
constexpr int control_poll_ms = 5;
constexpr int sold_out_wait_s = 5;

std::string setup_queue(const options& o, plan& p, const std::string& id) {
  http_client setup(o.port);
  // max_per_user 1: admission counts one unit a shopper (a billion units never stop it).
  auto r = setup.request("POST", "/v1/admin/products", p.admin,
                         R"({"id":")" + id + R"(","name":"Drop","price":100,"max_per_user":1,"on_hand":)" +
                             std::to_string(queue_on_hand) + "}");
  if (r.first != 201) return "create product: " + std::to_string(r.first) + " " + r.second;
  r = setup.request("POST", "/v1/admin/drops", p.admin,
                    R"({"id":")" + id + R"(","product_ids":[")" + id + R"("],"mode":"queue","opens_at":")" +
                        stampede::http::format_rfc3339_ms(now_ms() + 1000) + R"(","admit_per_s":)" +
                        std::to_string(o.rate) + R"(,"admission_ttl":3600})");
  if (r.first != 201) return "create drop: " + std::to_string(r.first) + " " + r.second;
  // Open, then paused while everyone joins (in arrival order) and starts watching.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  r = setup.request("POST", "/v1/admin/drops/" + id + "/pause", p.admin);
  if (r.first != 200) return "pause: " + std::to_string(r.first) + " " + r.second;
  return "";
}

std::string join_queue(const options& o, const plan& p, const std::string& id, std::vector<conn>& conns) {
  std::printf("%zu users join drop %s...\n", conns.size(), id.c_str());
  std::vector<std::string> errors(static_cast<size_t>(o.driver_threads));
  std::vector<std::thread> joiners;
  for (int d = 0; d < o.driver_threads; ++d)
    joiners.emplace_back([&, d] {
      http_client h(o.port);
      for (size_t i = static_cast<size_t>(d); i < conns.size(); i += static_cast<size_t>(o.driver_threads)) {
        conns[i].token = sign_token(o.secret, "q-" + p.run + "-" + std::to_string(i), "customer", p.expires_s);
        conns[i].topics = {"queue:" + id};
        auto r = h.request("POST", "/v1/drops/" + id + "/queue", conns[i].token);
        if (r.first != 201) {
          errors[static_cast<size_t>(d)] = "join: " + std::to_string(r.first) + " " + r.second;
          return;
        }
      }
    });
  for (auto& t : joiners) t.join();
  for (const auto& e : errors)
    if (!e.empty()) return e;
  return "";
}

// Polls the drop's admin view until `stop`.
void control(const options& o, const plan& p, const std::string& id, std::atomic<bool>& stop,
             std::vector<control_sample>& out) {
  http_client h(o.port);
  while (!stop) {
    control_sample c;
    c.sent_ms = now_ms();
    auto r = h.request("GET", "/v1/admin/drops/" + id, p.admin);
    c.got_ms = now_ms();
    c.admitted = json_int(r.second, R"("admitted":)");
    if (r.first == 200 && c.admitted >= 0) out.push_back(c);
    std::this_thread::sleep_for(std::chrono::milliseconds(control_poll_ms));
  }
}

int64_t nth(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// A position message implying `m` admissions shows the queue as it was once the m-th
// admission was made: after the last poll that saw fewer (sent at lo), by the first that saw
// m (answered at hi). Its delay lies in [got - hi, got - lo]; both bounds are reported. It
// includes the wait for the next push round (a watched ticket is pushed at most once a
// second), so the spread of each round is given too: every message of a round shows the
// same m, and each came this long after the round's first.
void queue_figures(std::vector<reader>& readers, const std::vector<control_sample>& samples, int64_t sold_at_ms,
                   size_t connections) {
  std::vector<int64_t> lo, hi, sold, spread;
  std::map<int64_t, int64_t> first_of_round;
  for (auto& r : readers)
    for (auto [m, got] : r.positions) {
      auto [it, added] = first_of_round.emplace(m, got);
      if (!added) it->second = std::min(it->second, got);
    }
  uint64_t before_resume = 0, unmatched = 0;
  for (auto& r : readers) {
    for (auto [m, got] : r.positions) spread.push_back(got - first_of_round[m]);
    for (auto [m, got] : r.positions) {
      if (m <= 0) {
        ++before_resume;
        continue;
      }
      auto it = std::lower_bound(samples.begin(), samples.end(), m,
                                 [](const control_sample& c, int64_t v) { return c.admitted < v; });
      if (it == samples.end()) {
        ++unmatched;
        continue;
      }
      lo.push_back(got - it->got_ms);
      hi.push_back(got - (it == samples.begin() ? it->sent_ms : std::prev(it)->sent_ms));
    }
    for (int64_t t : r.sold_out_ms) sold.push_back(t - sold_at_ms);
  }
  std::printf("position updates: %zu timed (%llu with no admission ahead yet, %llu past the last poll)\n", lo.size(),
              static_cast<unsigned long long>(before_resume), static_cast<unsigned long long>(unmatched));
  std::printf("  delay from the admission the message reflects: p50 %lld..%lld ms, p99 %lld..%lld ms, "
              "max %lld..%lld ms\n",
              static_cast<long long>(nth(lo, 0.5)), static_cast<long long>(nth(hi, 0.5)),
              static_cast<long long>(nth(lo, 0.99)), static_cast<long long>(nth(hi, 0.99)),
              static_cast<long long>(nth(lo, 1.0)), static_cast<long long>(nth(hi, 1.0)));
  std::printf("  %zu push rounds; each message after its round's first: p50 %lld ms, p99 %lld ms, max %lld ms\n",
              first_of_round.size(), static_cast<long long>(nth(spread, 0.5)),
              static_cast<long long>(nth(spread, 0.99)), static_cast<long long>(nth(spread, 1.0)));
  std::printf("sold_out: %zu watchers told (of %zu: the admitted keep their admission); delay from the answer to "
              "the stock change that sold the last unit: first %lld ms, p50 %lld ms, p99 %lld ms, max %lld ms\n",
              sold.size(), connections, static_cast<long long>(nth(sold, 0.0)), static_cast<long long>(nth(sold, 0.5)),
              static_cast<long long>(nth(sold, 0.99)), static_cast<long long>(nth(sold, 1.0)));
}

// Joins, watches (connections opened queue_connect_batch at a time), resumes, measures.
std::string watch_queue(const options& o, std::vector<conn>& conns, std::vector<reader>& readers) {
  for (auto& r : readers) {
    r.ep = ::epoll_create1(0);
    r.queue = true;
  }
  auto open_start = std::chrono::steady_clock::now();
  for (size_t from = 0; from < conns.size(); from += queue_connect_batch) {
    size_t to = std::min(conns.size(), from + queue_connect_batch);
    if (auto err = connect_range(o, conns, readers, from, to); !err.empty()) return err;
    if (!await_subscriptions(conns, readers, to)) {
      size_t unconnected = 0, unanswered = 0, closed = 0;
      for (size_t i = 0; i < to; ++i) {
        closed += conns[i].closed;
        unconnected += !conns[i].closed && !conns[i].sent_upgrade;
        unanswered += !conns[i].closed && conns[i].sent_upgrade && !conns[i].upgraded;
      }
      return "subscriptions not answered: of " + std::to_string(to) + " connections " + std::to_string(closed) +
             " closed by the server, " + std::to_string(unconnected) + " never connected, " +
             std::to_string(unanswered) + " upgrade unanswered";
    }
  }
  std::printf("%zu connections watching their tickets in %.2f s\n", conns.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count());
  return "";
}

// The admissions as the control saw them before the sell-out: how many, and in what steps.
void print_admissions(const options& o, const std::vector<control_sample>& samples, int64_t sold_at_ms,
                      double secs, uint64_t messages) {
  int64_t admitted = 0, steps = 0, step_max = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].sent_ms >= sold_at_ms) break;
    admitted = std::max(admitted, samples[i].admitted);
    if (i > 0 && samples[i].admitted > samples[i - 1].admitted) {
      ++steps;
      step_max = std::max(step_max, samples[i].admitted - samples[i - 1].admitted);
    }
  }
  std::printf("queue: %lld admitted in %.1f s (%.0f/s; asked %d/s); %llu ticket messages; %zu control samples\n",
              static_cast<long long>(admitted), secs, static_cast<double>(admitted) / secs, o.rate,
              static_cast<unsigned long long>(messages), samples.size());
  std::printf("  the control saw the admissions grow %lld times, by at most %lld at once\n",
              static_cast<long long>(steps), static_cast<long long>(step_max));
}

// Resumes the drop for o.seconds, then takes all its stock (nothing available, nothing
// held: sold out) and waits for the news to spread; the readers and the control run
// meanwhile. Returns false when the driver's requests failed.
bool admit_then_sell_out(const options& o, const plan& p, const std::string& id, int64_t& sold_at_ms,
                         double& secs) {
  http_client driver(o.port);
  const auto server_before = cpu_s(o.pid > 0 ? o.pid : ::getpid());
  auto start = std::chrono::steady_clock::now();
  auto resumed = driver.request("POST", "/v1/admin/drops/" + id + "/resume", p.admin);
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto server_after = cpu_s(o.pid > 0 ? o.pid : ::getpid());
  auto sold = driver.request("POST", "/v1/admin/products/" + id + "/stock", p.admin,
                             R"({"delta":-)" + std::to_string(queue_on_hand) + "}");
  sold_at_ms = now_ms();
  std::this_thread::sleep_for(std::chrono::seconds(sold_out_wait_s));
  if (o.pid > 0)
    std::printf("server CPU while admitting: %.2f user + %.2f system cores\n",
                (server_after.first - server_before.first) / secs, (server_after.second - server_before.second) / secs);
  if (resumed.first == 200 && sold.first == 200) return true;
  std::fprintf(stderr, "resume %d, stock %d %s\n", resumed.first, sold.first, sold.second.c_str());
  return false;
}

int run_queue(const options& o) {
  plan p;
  p.admin = sign_token(o.secret, "fanout-admin", "admin", p.expires_s);
  const std::string id = "queue-" + p.run;
  std::vector<conn> conns(static_cast<size_t>(o.connections));
  std::vector<reader> readers(static_cast<size_t>(o.readers));
  long rss_before = rss_kb(o.pid);
  std::string err = setup_queue(o, p, id);
  if (err.empty()) err = join_queue(o, p, id, conns);
  if (err.empty()) err = watch_queue(o, conns, readers);
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  if (o.pid > 0)
    std::printf("server RSS %ld -> %ld KB (tickets and connections)\n", rss_before, rss_kb(o.pid));
  std::atomic<bool> stop{false}, stop_control{false};
  std::vector<control_sample> samples;
  std::thread poller(control, std::cref(o), std::cref(p), std::cref(id), std::ref(stop_control), std::ref(samples));
  std::vector<std::thread> threads;
  for (auto& r : readers)
    threads.emplace_back([&conns, &r, &stop] {
      std::vector<epoll_event> events(epoll_events_max);
      std::vector<char> buf(read_buffer_bytes);
      while (!stop) pump(conns, r, events, buf, 50, true);
    });
  int64_t sold_at_ms = 0;
  double secs = 0;
  bool driven = admit_then_sell_out(o, p, id, sold_at_ms, secs);
  stop = true;
  for (auto& t : threads) t.join();
  stop_control = true;
  poller.join();
  if (!driven || samples.empty()) return 1;
  uint64_t messages = 0;
  for (const auto& r : readers) messages += r.messages;
  print_admissions(o, samples, sold_at_ms, secs, messages);
  queue_figures(readers, samples, sold_at_ms, conns.size());
  for (auto& c : conns) ::close(c.fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (auto bad = parse_options(argc, argv, o)) {
    std::fprintf(stderr, "ws_fanout: %s\n", bad->c_str());
    return 2;
  }
  if (o.mode == "queue") return run_queue(o);
  if (o.mode != "product" && o.mode != "orders") {
    std::fprintf(stderr, "usage: ws_fanout --port P --secret S product|orders|queue [--connections N] "
                         "[--products K] [--rate R] [--seconds T] [--pid SERVER_PID] [--readers R] "
                         "[--sources K]\n");
    return 2;
  }
  plan p;
  p.admin = sign_token(o.secret, "fanout-admin", "admin", p.expires_s);
  std::vector<conn> conns(static_cast<size_t>(o.connections));
  std::string err = o.mode == "product" ? setup_products(o, p, conns) : setup_orders(o, p, conns);
  long rss_before = rss_kb(o.pid);
  std::vector<reader> readers(static_cast<size_t>(o.readers));
  if (err.empty()) err = connect_all(o, conns, readers);
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  const uint64_t want = conns.size() * (o.mode == "product" ? p.products.size() : 1);
  auto open_start = std::chrono::steady_clock::now();
  if (!await_subscriptions(conns, readers, want)) return 1;
  double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long rss_after = rss_kb(o.pid);
  std::printf("%zu connections, %llu subscriptions in %.2f s\n", conns.size(), static_cast<unsigned long long>(want),
              open_s);
  if (o.pid > 0)
    std::printf("server RSS %ld -> %ld KB: %.1f KB a connection (%.0f connections a GiB)\n", rss_before, rss_after,
                static_cast<double>(rss_after - rss_before) / static_cast<double>(conns.size()),
                static_cast<double>(conns.size()) * 1024.0 * 1024.0 /
                    std::max(1.0, static_cast<double>(rss_after - rss_before)));

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> changes{0};
  std::vector<std::thread> drivers;
  for (int d = 0; d < o.driver_threads; ++d)
    drivers.emplace_back(o.mode == "product" ? drive_products : drive_orders, std::cref(o), std::cref(p),
                         std::ref(stop), std::ref(changes), d);
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::seconds(o.seconds);
  const auto server_before = cpu_s(o.pid > 0 ? o.pid : ::getpid()), client_before = cpu_s(::getpid());
  std::vector<std::thread> threads;
  for (auto& r : readers)
    threads.emplace_back([&conns, &r, end] {
      std::vector<epoll_event> events(epoll_events_max);
      std::vector<char> buf(read_buffer_bytes);
      while (std::chrono::steady_clock::now() < end) pump(conns, r, events, buf, 50, true);
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto server_after = cpu_s(o.pid > 0 ? o.pid : ::getpid()), client_after = cpu_s(::getpid());
  if (o.pid > 0)
    std::printf("server CPU %.2f user + %.2f system cores; this client (readers and driver) %.2f + %.2f\n",
                (server_after.first - server_before.first) / secs, (server_after.second - server_before.second) / secs,
                (client_after.first - client_before.first) / secs, (client_after.second - client_before.second) / secs);
  stop = true;
  for (auto& t : drivers) t.join();
  report(o, readers, changes.load(), secs);
  for (auto& c : conns) ::close(c.fd);
  return 0;
}
