#include "server/http_session.h"

#include "server/http_errors.h"
#include "server/http_text.h"
#include "server/transport_limits.h"
#include "server/ws_session.h"

namespace stampede::http {

namespace {

std::string kib(size_t bytes) { return std::to_string(bytes / 1024) + " KiB"; }

}  // namespace

http_session::http_session(tcp::socket socket, shard_context& ctx)
    : stream_(std::move(socket)), buffer_(request_head_bytes_max + request_body_bytes_max), ctx_(ctx) {
  ++ctx_.connections;
}

http_session::~http_session() { --ctx_.connections; }

// Read the next request, with every limit set before a byte is parsed.
void http_session::do_read() {
  parser_.emplace();
  parser_->header_limit(request_head_bytes_max);
  parser_->body_limit(request_body_bytes_max);
  // A fresh connection, or bytes already waiting: the request timeout. Between keep-alive
  // requests: the idle timeout.
  stream_.expires_after(std::chrono::seconds(answered_ && buffer_.size() == 0
                                                 ? keep_alive_idle_timeout_s
                                                 : ctx_.settings.request_timeout_s));
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

// A request arrived, or the connection failed, timed out or sent something malformed.
void http_session::on_read(beast::error_code ec, size_t) {
  if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::error::eof)
    return close();
  if (ec == beast::error::timeout) return close();
  if (ec == bhttp::error::header_limit)
    return reject(431, "request_header_fields_too_large",
                  "the request head is over " + kib(request_head_bytes_max));
  if (ec == bhttp::error::body_limit)
    return reject(413, "payload_too_large", "the body is over " + kib(request_body_bytes_max));
  if (ec) return reject(400, "invalid_request", "malformed HTTP request: " + ec.message());
  dispatch();
}

void http_session::dispatch() {
  auto& req = parser_->get();
  // Both framings at once is how request smuggling starts: refuse it.
  if (req.find(bhttp::field::content_length) != req.end() &&
      req.find(bhttp::field::transfer_encoding) != req.end())
    return reject(400, "invalid_request", "Content-Length and Transfer-Encoding together");
  keep_alive_ = req.keep_alive();
  request r;
  r.method = std::string(req.method_string());
  parse_target(req.target(), r);
  auto header = [&](auto name) {
    auto it = req.find(name);
    return it == req.end() ? std::string() : std::string(it->value());
  };
  r.authorization = header(bhttp::field::authorization);
  r.content_type = header(bhttp::field::content_type);
  r.if_none_match = header(bhttp::field::if_none_match);
  if (auto it = req.find("Idempotency-Key"); it != req.end())
    r.idempotency_key = std::string(it->value());
  r.signature = header("Stampede-Signature");
  if (auto it = req.find("Stampede-Admission"); it != req.end())
    r.admission = std::string(it->value());
  if (r.path == "/v1/ws") return upgrade(r);
  r.body = std::move(req.body());
  started_ = std::chrono::steady_clock::now();
  route_ = ctx_.routes.handle(std::move(r), [self = shared_from_this()](response out) {
    self->do_write(std::move(out));
  });
}

// GET /v1/ws: check the token (header or ?access_token=) and hand the socket to a
// WebSocket session. No token is fine (product topics); a bad one is 401.
void http_session::upgrade(const request& r) {
  auto& req = parser_->get();
  if (r.method != "GET" || !websocket::is_upgrade(req))
    return reject(400, "invalid_request", "GET /v1/ws must be a WebSocket upgrade");
  auto token = r.query.find("access_token");
  std::string_view bare = token == r.query.end() ? std::string_view() : token->second;
  std::optional<identity> who = ctx_.routes.identify(r.authorization, bare);
  if (!who && (!r.authorization.empty() || !bare.empty()))
    return reject(401, "unauthorized", "the token is not valid");
  if (ctx_.hub.session_count() >= ws_connections_per_shard_max) {
    keep_alive_ = false;
    route_ = metrics::routes_max - 1;
    started_ = std::chrono::steady_clock::now();
    return do_write(overloaded_response("too many WebSocket connections"));
  }
  tcp::socket socket = stream_.release_socket();
  beast::error_code ignored;
  socket.set_option(asio::socket_base::send_buffer_size(ws_send_buffer_bytes), ignored);
  std::make_shared<ws_session>(std::move(socket), ctx_.hub, std::move(who))->run(parser_->release());
}

void http_session::reject(unsigned status, std::string_view code, std::string message) {
  keep_alive_ = false;
  route_ = metrics::routes_max - 1;  // counted as "unmatched"
  started_ = std::chrono::steady_clock::now();
  do_write(http_error(status, code, std::move(message)));
}

// Write the answer. The status line, headers and body go out as one buffer: Beast's
// serializer costs more than the rest of a product read here (measured with callgrind),
// for no gain on answers this simple.
void http_session::do_write(response out) {
  if (route_ != no_route) {
    ctx_.routes.stats().observe(
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
  bool has_body = out.status != 204 && out.status != 304;
  if (has_body) wire.append("Content-Type: ").append(out.content_type).append("\r\n");
  for (auto& [name, value] : out.headers) wire.append(name).append(": ").append(value).append("\r\n");
  if (has_body) wire.append("Content-Length: ").append(std::to_string(out.body.size())).append("\r\n");
  if (!keep_alive_) wire.append("Connection: close\r\n");
  wire.append("\r\n").append(out.body);
  if (wire.capacity() > write_buffer_keep_bytes && wire.size() < write_buffer_keep_bytes / 4) {
    wire.shrink_to_fit();  // a large answer once should not pin memory for the connection
  }
  stream_.expires_after(std::chrono::seconds(ctx_.settings.request_timeout_s));
  asio::async_write(stream_, asio::buffer(wire),
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); });
}

// The answer is out: the next request, or the end of the connection.
void http_session::on_write(beast::error_code ec) {
  answered_ = true;
  if (ec || !keep_alive_ || !ctx_.accepting) return close();
  do_read();
}

void http_session::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace stampede::http
