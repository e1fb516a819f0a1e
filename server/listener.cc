#include "server/listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "server/http_session.h"
#include "server/transport_limits.h"

namespace stampede::http {

std::string check_port_free(const std::string& host, unsigned short port) {
  if (port == 0) return "";
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return "bad listen address " + host;
  asio::io_context io;
  tcp::acceptor probe(io);
  probe.open(address.is_v6() ? tcp::v6() : tcp::v4(), ec);
  // SO_REUSEADDR only: connections of an earlier run in TIME_WAIT do not count as in use.
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(tcp::endpoint(address, port), ec);
  if (ec == asio::error::address_in_use)
    return "cannot listen on " + host + ":" + std::to_string(port) +
           ": another process listens there (is a stampede already serving on it?)";
  if (ec) return "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
  return "";
}

std::string listener::open(tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
      return "SO_REUSEPORT: " + std::string(std::strerror(errno));
  }
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return "cannot listen on " + endpoint.address().to_string() + ":" +
           std::to_string(endpoint.port()) + ": " + ec.message();
  endpoint.port(acceptor_.local_endpoint().port());
  return "";
}

void listener::start() {
  asio::post(ctx_.io, [this] { do_accept(); });
}

void listener::stop() {
  ctx_.accepting = false;
  beast::error_code ignored;
  acceptor_.close(ignored);
  pause_.cancel();
}

// Wait for the next connection.
void listener::do_accept() {
  acceptor_.async_accept(ctx_.io, beast::bind_front_handler(&listener::on_accept, this));
}

// A connection: served on this shard, or closed at once when the shard or the process has
// its fill (refused at once rather than left to queue).
void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !ctx_.accepting) return;
  if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
      ec == asio::error::no_memory || ec.value() == ENFILE) {
    // Retrying at once would fail at once, in a loop that takes the whole core.
    return do_pause();
  }
  if (!ec) {
    descriptor_slot slot;
    if (ctx_.connections.load() < connections_per_shard_max && ctx_.descriptors->take())
      slot = descriptor_slot(ctx_.descriptors);
    if (!slot) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<http_session>(std::move(socket), ctx_, std::move(slot))->run();
    }
  }
  do_accept();
}

void listener::do_pause() {
  pause_.expires_after(std::chrono::milliseconds(accept_pause_ms));
  pause_.async_wait(beast::bind_front_handler(&listener::on_pause, this));
}

void listener::on_pause(beast::error_code ec) {
  if (ec || !ctx_.accepting) return;
  do_accept();
}

}  // namespace stampede::http
