#include "tests/persistence/nats_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace stampede::testing {

namespace {

constexpr int64_t poll_period_ms = 100;
constexpr int http_timeout_s = 2;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

std::vector<uint16_t> free_loopback_ports(size_t count) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::perror("free_loopback_ports");
      std::abort();
    }
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

int http_get_status(uint16_t port, std::string_view path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval tv{http_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a = loopback(port);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + std::string(path) + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {0};
      ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
      if (n > 12 && std::string_view(buf, 5) == "HTTP/") status = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return status;
}

nats_cluster::nats_cluster(size_t servers, int64_t ready_timeout_ms, std::string extra_config)
    : extra_config_(std::move(extra_config)) {
  char tmpl[] = "/tmp/stampede-nats-XXXXXX";
  const char* made = ::mkdtemp(tmpl);
  if (made == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  dir_ = made;
  auto ports = free_loopback_ports(servers * 3);
  for (size_t i = 0; i < servers; ++i) {
    server s;
    s.name = "n" + std::to_string(i);
    s.client_port = ports[3 * i];
    s.route_port = ports[3 * i + 1];
    s.monitor_port = ports[3 * i + 2];
    s.config_path = dir_ + "/" + s.name + ".conf";
    servers_.push_back(s);
  }
  for (const auto& s : servers_) write_config(s);
  for (size_t i = 0; i < servers; ++i) start(i);
  ready_ = wait_ready(ready_timeout_ms);
}

nats_cluster::~nats_cluster() {
  for (size_t i = 0; i < servers_.size(); ++i)
    if (running(i)) kill(i, SIGKILL);
  std::error_code ec;
  if (std::getenv("STAMPEDE_KEEP_NATS") == nullptr) std::filesystem::remove_all(dir_, ec);
}

void nats_cluster::write_config(const server& s) const {
  std::ofstream out(s.config_path);
  out << "server_name: " << s.name << "\n"
      << "listen: 127.0.0.1:" << s.client_port << "\n"
      << "http: 127.0.0.1:" << s.monitor_port << "\n"
      << "jetstream {\n  store_dir: \"" << dir_ << "/" << s.name << "\"\n"
      << "  max_memory_store: 64MB\n  max_file_store: 4GB\n}\n"
      << extra_config_;
  if (servers_.size() < 2) return;
  out << "cluster {\n  name: stampede-test\n  listen: 127.0.0.1:" << s.route_port
      << "\n  routes: [\n";
  for (const auto& peer : servers_) out << "    nats-route://127.0.0.1:" << peer.route_port << "\n";
  out << "  ]\n}\n";
}

std::vector<std::string> nats_cluster::urls() const {
  std::vector<std::string> out;
  for (const auto& s : servers_) out.push_back("nats://127.0.0.1:" + std::to_string(s.client_port));
  return out;
}

size_t nats_cluster::index_of(std::string_view name) const {
  for (size_t i = 0; i < servers_.size(); ++i)
    if (servers_[i].name == name) return i;
  return servers_.size();
}

void nats_cluster::start(size_t i) {
  server& s = servers_[i];
  if (s.pid > 0) return;
  std::string log = dir_ + "/" + s.name + ".log";
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execlp("nats-server", "nats-server", "-c", s.config_path.c_str(), nullptr);
    ::_exit(127);
  }
  s.pid = pid;
}

void nats_cluster::kill(size_t i, int signal) {
  server& s = servers_[i];
  if (s.pid <= 0) return;
  ::kill(s.pid, signal);
  if (signal == SIGKILL || signal == SIGTERM) {
    ::waitpid(s.pid, nullptr, 0);
    s.pid = -1;
  }
}

bool nats_cluster::wait_ready(int64_t timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    bool all = true;
    for (const auto& s : servers_)
      if (s.pid > 0 && http_get_status(s.monitor_port, "/healthz") != 200) all = false;
    if (all) return true;
    if (now_ms() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_period_ms));
  }
}

}  // namespace stampede::testing
