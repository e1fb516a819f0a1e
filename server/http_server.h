// The HTTP/1.1 server over Boost.Beast: one acceptor per shard on the same port
// (SO_REUSEPORT), each connection served on the shard that accepted it, keep-alive and
// pipelining, and every limit of API.md enforced before a request reaches the routes.
// The WebSocket (GET /v1/ws) is served here too: a hub per shard delivers the live updates
// its shard's watches bring (core/live.h) to the connections it holds. The only
// translation unit that includes Beast.
// Thread-safety: start() and stop() from the main thread; sessions run on their shard.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "server/routes.h"

namespace stampede::http {

// Limits of the transport, named in one place.
inline constexpr size_t request_head_bytes_max = 8 * 1024;   // else 431
inline constexpr size_t request_body_bytes_max = 64 * 1024;  // else 413
// A request must arrive whole within server_settings::request_timeout_s of the connection
// opening (or of the previous answer's last byte, for the first byte after it: up to the
// keep-alive idle time); answers must be taken within the same time.
inline constexpr int keep_alive_idle_timeout_s = 60;
inline constexpr size_t connections_per_shard_max = 20'000;
// WebSocket (GET /v1/ws).
inline constexpr size_t ws_connections_per_shard_max = 100'000;  // else 503 before upgrading
inline constexpr size_t ws_message_bytes_max = 4 * 1024;  // a bigger client message closes (1009)
inline constexpr size_t ws_subscriptions_max = 64;        // per connection
inline constexpr size_t ws_queue_max = 64;  // unsent messages a connection may have; past it the
                                            // oldest goes (a newer state replaces an older one first)
inline constexpr int ws_idle_timeout_s = 60;
// The kernel's send buffer of a WebSocket (fixed rather than autotuned up to megabytes), so
// a connection that stops reading costs a bounded amount and the queue's rules take over.
inline constexpr int ws_send_buffer_bytes = 32 * 1024;  // pinged at half of it; closed without an answer

class http_server {
 public:
  http_server(engine& eng, server_settings settings);
  ~http_server();

  // Binds host:port on every shard. Returns an error message, or "" on success.
  std::string start(const std::string& host, unsigned short port);
  // The port actually bound (useful with port 0).
  unsigned short port() const { return port_; }
  // Stops accepting; open connections finish the request in flight and close.
  void stop_accepting();
  // Connections still open, across shards.
  size_t open_connections() const;

  // One shard's acceptor, routes and connection count (defined in http_server.cc).
  struct shard_server;

 private:
  server_settings settings_;
  std::unique_ptr<metrics> metrics_;
  std::vector<std::unique_ptr<shard_server>> shards_;
  unsigned short port_ = 0;
};

}  // namespace stampede::http
