// A JetStream cluster for tests and benchmarks: N nats-servers (Debian's) on free loopback
// ports, their files in a fresh temporary directory, started by the constructor and waited
// for until every server's /healthz says JetStream answers; stopped by PID in the
// destructor (and killed with the test process if it dies: PR_SET_PDEATHSIG). The same
// thing for Python tests: nats_cluster.py. Not thread-safe: the test's thread.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stampede::testing {

class nats_cluster {
 public:
  // Starts `servers` servers (1: a lone JetStream server, no cluster block) and waits up to
  // `ready_timeout_ms` for them; ready() says whether they came up. `extra_config` is added
  // to every server's configuration (an authorization block, say).
  explicit nats_cluster(size_t servers = 3, int64_t ready_timeout_ms = 90'000,
                        std::string extra_config = "");
  ~nats_cluster();
  nats_cluster(const nats_cluster&) = delete;
  nats_cluster& operator=(const nats_cluster&) = delete;

  bool ready() const { return ready_; }
  size_t size() const { return servers_.size(); }
  // nats://127.0.0.1:port of every server.
  std::vector<std::string> urls() const;
  // "n0", "n1", ...: the server_name a stream's leader is reported by.
  const std::string& name(size_t i) const { return servers_[i].name; }
  // The index of the server named `name`, or size() when there is none.
  size_t index_of(std::string_view name) const;
  pid_t pid(size_t i) const { return servers_[i].pid; }
  bool running(size_t i) const { return servers_[i].pid > 0; }

  // Sends `signal` to server i; for SIGKILL and SIGTERM it also waits for the process to end.
  void kill(size_t i, int signal = SIGKILL);
  // Starts server i again on its ports and store.
  void start(size_t i);
  // Waits until every running server's /healthz is 200 (JetStream current with a meta
  // leader, and with every stream it holds).
  bool wait_ready(int64_t timeout_ms);
  // The directory the servers keep their files and logs in.
  const std::string& dir() const { return dir_; }

 private:
  struct server {
    std::string name;
    uint16_t client_port = 0;
    uint16_t route_port = 0;
    uint16_t monitor_port = 0;
    std::string config_path;
    pid_t pid = -1;
  };
  void write_config(const server& s) const;

  std::string dir_;
  std::string extra_config_;
  std::vector<server> servers_;
  bool ready_ = false;
};

// Free TCP ports on 127.0.0.1 (bound together, then released, so they differ).
std::vector<uint16_t> free_loopback_ports(size_t count);
// The status code of GET http://127.0.0.1:port/path, or 0 when nothing answers.
int http_get_status(uint16_t port, std::string_view path);

}  // namespace stampede::testing
