#include "server/http_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "server/http_errors.h"
#include "server/http_text.h"
#include "server/transport_limits.h"
#include "server/ws_session.h"

namespace stampede::http {

namespace {

std::string kib(size_t bytes) { return std::to_string(bytes / 1024) + " KiB"; }

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

bool is_write(size_t route) {
  return route < api::table().size() && api::table()[route].kind == route_kind::write;
}

}  // namespace

std::shared_ptr<const int> body_source_of(int fd) {
  return std::shared_ptr<const int>(new int(fd), [](const int* p) {
    ::close(*p);
    delete p;
  });
}

http_session::http_session(tcp::socket socket, shard_context& ctx, descriptor_slot slot)
    : stream_(std::move(socket)),
      buffer_(request_head_bytes_max + request_body_bytes_max),
      ctx_(ctx),
      slot_(std::move(slot)) {
  ctx_.sessions.join(this);
  ++ctx_.connections;
}

http_session::~http_session() { leave(); }

void http_session::leave() {
  if (!counted_) return;
  counted_ = false;
  ctx_.sessions.leave(this);
  --ctx_.connections;
}

void http_session::drain() {
  // Waiting between requests, or for a first request of which nothing came yet: a read of a
  // head that has no byte of it in the buffer (Beast keeps a partial head there).
  // Or answered, with the lookahead still waiting for the next request.
  if ((reading_ && buffer_.size() == 0 && parser_ && !parser_->got_some()) ||
      (waiting_next_ && buffer_.size() == 0)) {
    beast::error_code ignored;
    stream_.socket().cancel(ignored);  // the read ends with operation_aborted
  }
}

void http_session::close_now() {
  if (gone_ && awaiting_answer_) gone_->store(true, std::memory_order_relaxed);
  close();
}

// Read the next request's head, with every limit set before a byte is parsed.
void http_session::do_read_header() {
  parser_.emplace();
  parser_->header_limit(request_head_bytes_max);
  body_bytes_max_ = request_body_bytes_max;
  parser_->body_limit(body_bytes_max_);
  // A fresh connection, or bytes already waiting: the request timeout. Between keep-alive
  // requests: the idle timeout.
  set_deadline(std::chrono::seconds(answered_ && buffer_.size() == 0
                                        ? ctx_.settings.keep_alive_timeout_s
                                        : ctx_.settings.request_timeout_s));
  reading_ = true;
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&http_session::on_header, shared_from_this()));
}

void http_session::on_header(beast::error_code ec, size_t head_bytes) {
  reading_ = false;
  if (ec == bhttp::error::bad_method && empty_lines_ < leading_empty_lines_max) {
    // RFC 9112 section 2.2: an empty line before the request line is ignored.
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    size_t skip = data.starts_with("\r\n") ? 2 : data.starts_with("\n") ? 1 : 0;
    if (skip > 0) {
      buffer_.consume(skip);
      ++empty_lines_;
      return do_read_header();
    }
  }
  if (ec) return on_read_error(ec);
  empty_lines_ = 0;
  // Beast's header_limit bounds the request line and the fields each, so a head of both could
  // be nearly twice the limit; the bytes the head took are the whole head's.
  if (head_bytes > request_head_bytes_max) return on_read_error(bhttp::error::header_limit);
  on_head_complete();
}

void http_session::on_head_complete() {
  auto& req = parser_->get();
  // Both framings at once is how request smuggling starts: refuse it.
  if (req.count(bhttp::field::content_length) > 0 && req.count(bhttp::field::transfer_encoding) > 0)
    return reject(400, "invalid_request", "Content-Length and Transfer-Encoding together");
  // RFC 9112 section 3.2: exactly one Host in HTTP/1.1, at most one before.
  size_t hosts = req.count(bhttp::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() >= 11))
    return reject(400, "invalid_request", "an HTTP/1.1 request needs exactly one Host header");
  if (req.count(bhttp::field::authorization) > 1)
    return reject(400, "invalid_request", "more than one Authorization header");
  if (parser_->is_done()) return dispatch();
  // The body's route may take less than the transport does.
  body_bytes_max_ = ctx_.routes.body_bytes_max(req.method_string(), origin_form(req.target()));
  if (parser_->content_length() && *parser_->content_length() > body_bytes_max_)
    return reject(413, "payload_too_large", "the body is over " + kib(body_bytes_max_));
  parser_->body_limit(body_bytes_max_);
  auto expect = req.find(bhttp::field::expect);
  if (expect != req.end() && ascii_iequals(expect->value(), "100-continue") && req.version() >= 11)
    return do_continue();
  do_read_body();
}

// Tell the client to send the body it is holding back (RFC 9110 section 10.1.1).
void http_session::do_continue() {
  asio::async_write(stream_, asio::buffer(continue_line.data(), continue_line.size()),
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->on_continue(ec); });
}

void http_session::on_continue(beast::error_code ec) {
  if (ec) return close();
  do_read_body();
}

void http_session::do_read_body() {
  set_deadline(std::chrono::seconds(ctx_.settings.request_timeout_s));
  reading_ = true;
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&http_session::on_body, shared_from_this()));
}

void http_session::on_body(beast::error_code ec, size_t) {
  reading_ = false;
  if (ec) return on_read_error(ec);
  dispatch();
}

void http_session::on_read_error(beast::error_code ec) {
  if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::error::eof || ec == asio::error::operation_aborted || ec == beast::error::timeout)
    return close();
  if (ec == bhttp::error::header_limit)
    return reject(431, "request_header_fields_too_large",
                  "the request head is over " + kib(request_head_bytes_max));
  if (ec == bhttp::error::body_limit)
    return reject(413, "payload_too_large", "the body is over " + kib(body_bytes_max_));
  reject(400, "invalid_request", "malformed HTTP request: " + ec.message());
}

void http_session::dispatch() {
  clear_deadline();  // no timeout while the routes hold the request; its answer sets one
  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  started_ = std::chrono::steady_clock::now();
  if (auto shed = ctx_.routes.refused_early(req.method_string(), origin_form(req.target()))) {
    // Overloaded: refused before the request is copied, authenticated or parsed.
    static const response overloaded = overloaded_response("the store is busy; retry shortly");
    route_ = *shed;
    return do_write(overloaded);
  }
  request r;
  r.method = std::string(req.method_string());
  parse_target(origin_form(req.target()), r);
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
  // HEAD is GET without the body (RFC 9110 9.3.2): routed as GET, its answer's head written.
  head_only_ = r.method == "HEAD";
  if (r.path == "/v1/ws") return upgrade(r);
  if (head_only_) r.method = "GET";
  r.body = std::move(req.body());
  // The flag the engine sees: a fresh one unless no earlier write still holds the last.
  if (!gone_ || gone_.use_count() > 1) gone_ = std::make_shared<std::atomic<bool>>();
  gone_->store(false, std::memory_order_relaxed);
  r.gone = gone_;
  awaiting_answer_ = true;
  // Before the routes: its first recv finds a client that closed right after sending (its
  // FIN came with the request), and its completion runs in this same poll of the shard's
  // reactor, before the shard runs the writes it read in this pass.
  bool pipelined = buffer_.size() > 0;
  if (!pipelined) do_lookahead();
  ctx_.routes.handle(std::move(r), route_, [self = shared_from_this()](response out) {
    self->do_write(std::move(out));
  });
  // Answered already (a read on this shard, a refusal): nothing to watch. A write waits in
  // a queue, where it should not run for a client that left.
  if (pipelined && awaiting_answer_ && is_write(route_)) do_watch();
}

void http_session::do_lookahead() {
  size_t room = beast::read_size(buffer_, lookahead_bytes_max);
  if (room == 0) return;  // the buffer is full (it is not: nothing is buffered)
  lookahead_pending_ = true;
  stream_.socket().async_read_some(buffer_.prepare(room),
                                   beast::bind_front_handler(&http_session::on_lookahead, shared_from_this()));
}

void http_session::on_lookahead(beast::error_code ec, size_t n) {
  lookahead_pending_ = false;
  if (!stream_.socket().is_open()) return;  // closed meanwhile
  buffer_.commit(n);
  if (lingering_) {
    lingering_ = false;
    lingered_bytes_ += n;
    if (ec && ec != asio::error::operation_aborted) return close();  // the client's end
    return linger_read();
  }
  if (ec) {
    peer_closed_ = true;  // EOF, reset, or cancelled (draining, the idle time)
    // Closed, or the connection broke: a write still queued is not run.
    if (awaiting_answer_ && gone_ && is_write(route_)) gone_->store(true, std::memory_order_relaxed);
  }
  if (!waiting_next_) return;  // the answer is not out yet: on_write goes on from here
  waiting_next_ = false;
  if (peer_closed_) return close();
  do_read_header();
}

// The pending read or write ends with operation_aborted, and with it the connection (a
// Beast stream's own timeout closes the socket too).
void http_session::time_out() { close(); }

// Looks first: a client that closed right after sending (its FIN came with the request)
// wakes no wait before the shard runs the writes it read in this pass.
void http_session::do_watch() {
  char byte;
  ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    gone_->store(true, std::memory_order_relaxed);  // closed, or the connection broke
    return;
  }
  if (n > 0) return;  // a pipelined request waits: read once this one is answered
  watching_ = true;
  stream_.socket().async_wait(tcp::socket::wait_read,
                              beast::bind_front_handler(&http_session::on_watch, shared_from_this()));
}

// The socket is readable while a write is in the engine: the client closed it, or sent
// more; or woken for nothing.
void http_session::on_watch(beast::error_code ec) {
  watching_ = false;
  if (ec || !awaiting_answer_) return;  // answered meanwhile (the wait was cancelled)
  do_watch();
}

// GET /v1/ws: check the token (header or ?access_token=) and hand the socket to a
// WebSocket session. No token is fine (product topics); a bad one is 401.
void http_session::upgrade(const request& r) {
  auto& req = parser_->get();
  // A known path, the wrong method (API.md): 405, and the connection stays. HEAD is GET's
  // head: a HEAD cannot upgrade, so it gets the 400 of a GET that does not, without the body.
  if (r.method != "GET" && r.method != "HEAD") {
    response out = http_error(405, "method_not_allowed", "this path does not take " + r.method);
    out.headers.emplace_back("Allow", "GET");
    route_ = metrics::routes_max - 1;  // counted as "unmatched"
    return do_write(std::move(out));
  }
  if (!websocket::is_upgrade(req))
    return reject(400, "invalid_request", "GET /v1/ws must be a WebSocket upgrade");
  // What Beast's handshake would refuse in plain text, refused here in the API's error shape
  // (RFC 6455 section 4.2.2: a key of 16 bytes in base64; version 13, named when another is asked).
  auto key = req[bhttp::field::sec_websocket_key];
  if (key.empty() || key.size() > 24)
    return reject(400, "invalid_request", "the WebSocket handshake needs a Sec-WebSocket-Key");
  if (req[bhttp::field::sec_websocket_version] != "13") {
    response out = http_error(400, "invalid_request", "this server speaks WebSocket version 13");
    out.headers.emplace_back("Sec-WebSocket-Version", "13");
    keep_alive_ = false;
    route_ = metrics::routes_max - 1;
    return do_write(std::move(out));
  }
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
  leave();
  tcp::socket socket = stream_.release_socket();
  beast::error_code ignored;
  socket.set_option(asio::socket_base::send_buffer_size(ws_send_buffer_bytes), ignored);
  std::make_shared<ws_session>(std::move(socket), ctx_.hub, std::move(who), std::move(slot_))
      ->run(parser_->release());
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
  awaiting_answer_ = false;
  if (watching_) {
    beast::error_code ignored;
    stream_.socket().cancel(ignored);  // the watch ends with operation_aborted
  }
  if (route_ != no_route) {
    ctx_.routes.stats().observe(
        route_, out.status,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count());
    route_ = no_route;
  }
  if (gone_ && gone_->load(std::memory_order_relaxed)) return close();  // no one to tell
  if (!ctx_.accepting) keep_alive_ = false;  // draining: this answer is the last
  // One write in flight per connection, so one buffer serves them all.
  std::string& wire = write_buffer_;
  wire.clear();
  std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(out.status));
  wire.append("HTTP/1.1 ").append(std::to_string(out.status)).append(" ").append(reason);
  wire.append("\r\nServer: stampede\r\n");
  bool has_body = out.status != 204 && out.status != 304;
  // HEAD: the GET's head, its Content-Length included, and no body. A streamed body has no
  // length to give: its head, and then the connection ends.
  bool head = std::exchange(head_only_, false);
  bool length_known = out.body_source == nullptr;
  if (head && !length_known) out.body_source.reset();
  bool streamed = out.body_source != nullptr;
  if (!length_known) keep_alive_ = false;  // the body ends where the connection does
  if (has_body) wire.append("Content-Type: ").append(out.content_type).append("\r\n");
  for (auto& [name, value] : out.headers) wire.append(name).append(": ").append(value).append("\r\n");
  if (has_body && length_known)
    wire.append("Content-Length: ").append(std::to_string(out.body.size())).append("\r\n");
  if (!keep_alive_) wire.append("Connection: close\r\n");
  wire.append("\r\n");
  if (!head) wire.append(out.body);
  if (wire.capacity() > write_buffer_keep_bytes && wire.size() < write_buffer_keep_bytes / 4) {
    wire.shrink_to_fit();  // a large answer once should not pin memory for the connection
  }
  set_deadline(std::chrono::seconds(ctx_.settings.request_timeout_s));
  if (streamed) {
    body_source_ = std::move(out.body_source);
    source_.emplace(stream_.get_executor(), ::dup(*body_source_));
    asio::async_write(stream_, asio::buffer(wire), [self = shared_from_this()](
                                                       beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->do_stream();
    });
    return;
  }
  asio::async_write(stream_, asio::buffer(wire),
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); });
}

void http_session::do_stream() {
  stream_chunk_.resize(stream_chunk_bytes);
  source_->async_read_some(asio::buffer(stream_chunk_),
                           beast::bind_front_handler(&http_session::on_stream_read, shared_from_this()));
}

// A piece of a streamed body: out to the client, then the next; its end ends the connection.
void http_session::on_stream_read(beast::error_code ec, size_t n) {
  if (ec) return close();  // the end of the pipe (or its writer failed: the body is cut short)
  set_deadline(std::chrono::seconds(ctx_.settings.request_timeout_s));
  asio::async_write(stream_, asio::buffer(stream_chunk_.data(), n),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return self->close();
                      self->do_stream();
                    });
}

// The answer is out: the next request, or the end of the connection.
void http_session::on_write(beast::error_code ec) {
  answered_ = true;
  if (ec) return close();
  if (!keep_alive_) return do_linger();
  if (lookahead_pending_) {
    // No byte of the next request yet: it is awaited up to the keep-alive idle time.
    waiting_next_ = true;
    set_deadline(std::chrono::seconds(ctx_.settings.keep_alive_timeout_s));
    return;
  }
  if (peer_closed_) return close();
  do_read_header();
}

// Our side is done: send FIN after the answer, and read what the client still sends
// (the rest of a refused body, pipelined requests) so that closing does not reset the
// connection before the client has read the answer.
void http_session::do_linger() {
  leave();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  linger_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(linger_time_ms);
  stream_.expires_at(linger_until_);
  if (peer_closed_) return close();  // the client's end is in already
  if (lookahead_pending_) {
    // It has no time limit: cancelled, and its end starts the timed reads.
    lingering_ = true;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
    return;
  }
  linger_read();
}

void http_session::linger_read() {
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(linger_read_bytes),
                          beast::bind_front_handler(&http_session::on_linger, shared_from_this()));
}

void http_session::on_linger(beast::error_code ec, size_t n) {
  lingered_bytes_ += n;
  if (ec || lingered_bytes_ > linger_bytes_max) return close();  // EOF, time, or too much
  linger_read();
}

void http_session::close() {
  leave();
  clear_deadline();
  beast::error_code ignored;
  if (source_) source_->close(ignored);
  source_.reset();
  body_source_.reset();
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace stampede::http
