// What the listen address answers while the store is still recovering, before the real
// server (which runs on the shards' loops) can: `/healthz` 200, `/readyz` 503
// {"status":"starting"}, anything else 503 `overloaded` with Retry-After. Its own thread
// and io_context serve every connection at once, each with a deadline for its whole head,
// one request per connection, then close. The real server binds the same port beside it
// (SO_REUSEPORT) before this one stops, so the address never refuses.
// Thread-safety: start() and stop() from one thread (main); the rest runs on its own.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace stampede::http {

// A request head must arrive whole within this, else the connection is closed unanswered.
inline constexpr int startup_head_timeout_ms = 2'000;
// Connections served at once; more are closed as they come.
inline constexpr size_t startup_connections_max = 1'024;

class startup_responder {
 public:
  startup_responder() = default;
  ~startup_responder();
  startup_responder(const startup_responder&) = delete;
  startup_responder& operator=(const startup_responder&) = delete;

  // Binds host:port (0: any free port; port() says which) and starts answering.
  std::string start(const std::string& host, unsigned short port);
  unsigned short port() const { return port_; }
  // Closes the socket at once, without waiting for any client: connections already queued
  // on it are still taken and answered, those being read finish by their deadline (the
  // destructor waits for that).
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace stampede::http
