// The HTTP/1.1 and WebSocket server of API.md over Boost.Beast: per shard a context
// (server/shard_context.h) and a listener on the same port (SO_REUSEPORT), each connection
// served on the shard that accepted it. This is the part the main thread holds.
// Thread-safety: construction, start(), stop_accepting() and open_connections() from the
// main thread; everything else runs on the shards.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "server/request.h"
#include "server/transport_limits.h"

namespace stampede::http {

class descriptor_budget;
class metrics;
class listener;
class stats_publisher;
struct shard_context;

class http_server {
 public:
  http_server(engine& eng, server_settings settings);
  ~http_server();

  // Binds host:port on every shard. Returns an error message, or "" on success.
  std::string start(const std::string& host, unsigned short port);
  // The port actually bound (useful with port 0).
  unsigned short port() const { return port_; }
  // Stops accepting; idle connections close at once, the others after the request in flight.
  void stop_accepting();
  // After stop_accepting(): waits up to `limit` for the connections to end by themselves,
  // then closes every one still open (half a head or body, an answer being written, a
  // WebSocket whose client never answers the close) and waits for their sessions to end on
  // their shards, so that none outlives this server. Before the engine stops.
  void finish_drain(std::chrono::milliseconds limit);
  // Connections still open, across shards.
  size_t open_connections() const;

 private:
  server_settings settings_;
  std::unique_ptr<metrics> metrics_;
  std::shared_ptr<descriptor_budget> descriptors_;  // shared with the sessions' slots
  std::vector<std::unique_ptr<shard_context>> shards_;
  std::vector<std::unique_ptr<listener>> listeners_;
  // Closes every connection still open, on each shard's thread.
  void close_remaining();
  // Sleeps until no connection is open or `until` has come.
  void wait_for_connections(std::chrono::steady_clock::time_point until) const;

  std::unique_ptr<stats_publisher> stats_;  // admin:stats, made on shard 0
  unsigned short port_ = 0;
};

}  // namespace stampede::http
