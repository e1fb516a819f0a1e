// One shard's acceptor on the shared listen address (SO_REUSEPORT: the kernel spreads new
// connections over the shards), handing each connection to an HTTP session on this shard,
// up to connections_per_shard_max and within the process's descriptor budget; when the
// kernel has no descriptor to give, it pauses rather than spin. open() from the main thread before the shard serves;
// everything else on the shard's thread.
#pragma once

#include <string>

#include "server/beast.h"
#include "server/shard_context.h"

namespace stampede::http {

// Whether another process already listens on host:port. The shards' acceptors share the
// port with SO_REUSEPORT, which would let a second `stampede serve` bind beside the first
// and take half its connections; so, once at start, a socket without SO_REUSEPORT tries
// the address first. "" when it is free (or port is 0), else what the operator should read.
std::string check_port_free(const std::string& host, unsigned short port);

class listener {
 public:
  explicit listener(shard_context& ctx) : ctx_(ctx), acceptor_(ctx.io), pause_(ctx.io) {}

  // Binds and listens on `endpoint`; its port becomes the one bound (port 0 picks one).
  // Returns an error message, or "" on success.
  std::string open(tcp::endpoint& endpoint);
  // Starts accepting (posted to the shard's thread).
  void start();
  // On the shard's thread: no more connections.
  void stop();

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  // Out of descriptors or memory: accept again after accept_pause_ms.
  void do_pause();
  void on_pause(beast::error_code ec);

  shard_context& ctx_;
  tcp::acceptor acceptor_;
  asio::steady_timer pause_;
};

}  // namespace stampede::http
