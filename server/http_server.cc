#include "server/http_server.h"

#include <atomic>
#include <future>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace stampede::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class session;

}  // namespace

// What one shard runs: its acceptor, its `api`, and a count of its connections.
struct http_server::shard_server {
  shard_server(engine& eng, const server_settings& settings, metrics& m, shard& s)
      : io(s.io()), settings(settings), routes(eng, settings, s.io().get_executor(), m), acceptor(s.io()) {}
  asio::io_context& io;
  const server_settings& settings;
  api routes;
  tcp::acceptor acceptor;
  std::atomic<size_t> connections{0};
  bool accepting = true;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

response to_response_status(unsigned status, std::string_view code, std::string message) {
  return http_error(status, code, std::move(message));
}

// One connection: read a request, answer it, read the next. Requests are handled one at a
// time in arrival order, so pipelined requests are answered in order.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, http_server::shard_server& home)
      : stream_(std::move(socket)), home_(home) {
    ++home_.connections;
  }
  ~session() { --home_.connections; }

  void run() { do_read(); }

 private:
  // Read the next request, with every limit set before a byte is parsed.
  void do_read() {
    parser_.emplace();
    parser_->header_limit(request_head_bytes_max);
    parser_->body_limit(request_body_bytes_max);
    // A fresh connection, or bytes already waiting: the request timeout. Between keep-alive
    // requests: the idle timeout.
    stream_.expires_after(std::chrono::seconds(
        answered_ && buffer_.size() == 0 ? keep_alive_idle_timeout_s
                                         : home_.settings.request_timeout_s));
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  // A request arrived, or the connection failed, timed out or sent something malformed.
  void on_read(beast::error_code ec, size_t) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return close();
    if (ec == beast::error::timeout) return close();
    if (ec == bhttp::error::header_limit)
      return reject(431, "request_header_fields_too_large", "the request head is over 8 KiB");
    if (ec == bhttp::error::body_limit)
      return reject(413, "payload_too_large", "the body is over 64 KiB");
    if (ec) return reject(400, "invalid_request", "malformed HTTP request: " + ec.message());
    auto& req = parser_->get();
    // Both framings at once is how request smuggling starts: refuse it.
    if (req.find(bhttp::field::content_length) != req.end() &&
        req.find(bhttp::field::transfer_encoding) != req.end())
      return reject(400, "invalid_request", "Content-Length and Transfer-Encoding together");
    keep_alive_ = req.keep_alive();
    request r;
    r.method = std::string(req.method_string());
    parse_target(req.target(), r);
    auto header = [&](bhttp::field f) {
      auto it = req.find(f);
      return it == req.end() ? std::string() : std::string(it->value());
    };
    r.authorization = header(bhttp::field::authorization);
    r.content_type = header(bhttp::field::content_type);
    r.if_none_match = header(bhttp::field::if_none_match);
    if (auto it = req.find("Idempotency-Key"); it != req.end())
      r.idempotency_key = std::string(it->value());
    if (auto it = req.find("Stampede-Signature"); it != req.end())
      r.signature = std::string(it->value());
    r.body = std::move(req.body());
    started_ = std::chrono::steady_clock::now();
    route_ = home_.routes.handle(std::move(r), [self = shared_from_this()](response out) {
      self->write(std::move(out));
    });
  }

  void reject(unsigned status, std::string_view code, std::string message) {
    keep_alive_ = false;
    route_ = metrics::routes_max - 1;  // counted as "unmatched"
    started_ = std::chrono::steady_clock::now();
    write(to_response_status(status, code, std::move(message)));
  }

  // The status line, headers and body go out as one buffer: Beast's serializer costs more
  // than the rest of a product read here (measured with callgrind), for no gain on answers
  // this simple.
  void write(response out) {
    if (route_ != no_route) {
      home_.routes.stats().observe(
          route_, out.status,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count());
      route_ = no_route;
    }
    // One write in flight per connection, so one buffer serves them all.
    std::string& wire = write_buffer_;
    wire.clear();
    std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(out.status));
    wire.append("HTTP/1.1 ").append(std::to_string(out.status)).append(" ").append(reason);
    wire.append("\r\nServer: stampede\r\n");
    if (out.status != 204 && out.status != 304)
      wire.append("Content-Type: ").append(out.content_type).append("\r\n");
    for (auto& [name, value] : out.headers) wire.append(name).append(": ").append(value).append("\r\n");
    if (out.status != 204 && out.status != 304)
      wire.append("Content-Length: ").append(std::to_string(out.body.size())).append("\r\n");
    if (!keep_alive_) wire.append("Connection: close\r\n");
    wire.append("\r\n").append(out.body);
    if (wire.capacity() > write_buffer_keep_bytes && wire.size() < write_buffer_keep_bytes / 4) {
      wire.shrink_to_fit();  // a large answer once should not pin memory for the connection
    }
    stream_.expires_after(std::chrono::seconds(home_.settings.request_timeout_s));
    asio::async_write(stream_, asio::buffer(wire),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    answered_ = true;
    if (ec || !keep_alive_ || !home_.accepting) return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{request_head_bytes_max + request_body_bytes_max};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  http::http_server::shard_server& home_;
  bool keep_alive_ = true;
  bool answered_ = false;  // at least one answer written on this connection
  static constexpr size_t write_buffer_keep_bytes = 16 * 1024;
  static constexpr size_t no_route = ~size_t{0};
  size_t route_ = no_route;  // the request in flight, for metrics
  std::chrono::steady_clock::time_point started_;
  std::string write_buffer_;
};

}  // namespace

void http_server::shard_server::do_accept() {
  acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void http_server::shard_server::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !accepting) return;
  if (!ec) {
    if (connections.load() >= connections_per_shard_max) {
      beast::error_code ignored;
      socket.close(ignored);  // over the bound: refuse at once rather than queue
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<session>(std::move(socket), *this)->run();
    }
  }
  do_accept();
}

http_server::http_server(engine& eng, server_settings settings)
    : settings_(std::move(settings)),
      metrics_(std::make_unique<metrics>(api::route_names())) {
  for (uint32_t i = 0; i < eng.shard_count(); ++i)
    shards_.push_back(
        std::make_unique<shard_server>(eng, settings_, *metrics_, eng.shard_at(i)));
}

http_server::~http_server() = default;

std::string http_server::start(const std::string& host, unsigned short port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return "bad listen address " + host + ": " + ec.message();
  tcp::endpoint endpoint(address, port);
  for (auto& s : shards_) {
    s->acceptor.open(endpoint.protocol(), ec);
    if (!ec) s->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(s->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
        return "SO_REUSEPORT: " + std::string(std::strerror(errno));
    }
    if (!ec) s->acceptor.bind(endpoint, ec);
    if (!ec) s->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "cannot listen on " + host + ":" + std::to_string(endpoint.port()) + ": " +
                   ec.message();
    // Every later acceptor binds the port the first one got (port 0 picks one).
    endpoint.port(s->acceptor.local_endpoint().port());
  }
  port_ = endpoint.port();
  for (auto& s : shards_) asio::post(s->io, [srv = s.get()] { srv->do_accept(); });
  return "";
}

void http_server::stop_accepting() {
  for (auto& s : shards_) {
    std::promise<void> done;
    asio::post(s->io, [srv = s.get(), &done] {
      srv->accepting = false;
      beast::error_code ignored;
      srv->acceptor.close(ignored);
      done.set_value();
    });
    done.get_future().wait();
  }
}

size_t http_server::open_connections() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->connections.load();
  return n;
}

}  // namespace stampede::http
