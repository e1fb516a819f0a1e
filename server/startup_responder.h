// What the listen address answers while the store is still recovering, before the real
// server (which runs on the shards' loops) can: `/healthz` 200, `/readyz` 503
// {"status":"starting"}, anything else 503 `overloaded` with Retry-After. One thread, plain
// sockets, one short request per connection, then close. The real server binds the same
// port beside it (SO_REUSEPORT) before this one stops, so the address never refuses.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace stampede::http {

class startup_responder {
 public:
  startup_responder() = default;
  ~startup_responder() { stop(); }
  startup_responder(const startup_responder&) = delete;
  startup_responder& operator=(const startup_responder&) = delete;

  // Binds host:port (0: any free port; port() says which) and starts answering.
  std::string start(const std::string& host, unsigned short port);
  unsigned short port() const { return port_; }
  // Stops answering and closes the socket; connections already accepted are answered.
  void stop();

 private:
  void loop();
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace stampede::http
