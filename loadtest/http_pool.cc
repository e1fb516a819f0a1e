#include "loadtest/http_pool.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>

namespace stampede::load {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A response parser that keeps only what the pool reports: the status, Retry-After and (when
// asked) the body. Beast's own parser stores every header field, an allocation each.
class answer_parser : public http::basic_parser<false> {
 public:
  unsigned status = 0;
  int64_t retry_after_s = -1;
  std::string body;
  bool keep_body = true;

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status = static_cast<unsigned>(code);
  }
  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     beast::error_code&) override {
    if (name != http::field::retry_after) return;
    int64_t s = -1;
    auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (err == std::errc()) retry_after_s = s;
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (keep_body && length) body.reserve(static_cast<size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view s, beast::error_code&) override { return take(s); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s, beast::error_code&) override {
    return take(s);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::size_t take(beast::string_view s) {
    if (keep_body) body.append(s.data(), s.size());
    return s.size();
  }
};

}  // namespace

struct http_pool::connection {
  explicit connection(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  beast::flat_buffer buffer;
  std::optional<answer_parser> parser;
  std::optional<pending> current;
  steady::time_point started;  // of the connect, or of sending the current request
  steady::time_point idle_since;
  bool connecting = false;
  bool reused = false;  // has been answered on before
  bool timed_out = false;
};

std::optional<target> parse_target(std::string_view url, std::string& error) {
  if (url.rfind("https://", 0) == 0) {
    error = "https is not spoken; give an http:// address";
    return std::nullopt;
  }
  if (url.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
  } else if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    error = "'" + std::string(url.substr(0, scheme)) + "' is not spoken; give an http:// address";
    return std::nullopt;
  }
  // Requests go to the API's own paths: a path here would be silently dropped, so it is refused.
  if (auto rest = url.find_first_of("/?#"); rest != std::string_view::npos) {
    if (url.substr(rest) != "/") {
      error = "the target is a server, http://host:port, without a path ('" +
              std::string(url.substr(rest)) + "')";
      return std::nullopt;
    }
    url = url.substr(0, rest);
  }
  target t;
  auto colon = url.rfind(':');
  std::string_view host = url.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = url.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      error = "bad port in '" + std::string(url) + "'";
      return std::nullopt;
    }
    t.port = static_cast<uint16_t>(value);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) {
    error = "no host in the target address";
    return std::nullopt;
  }
  t.host = std::string(host);
  t.host_header = std::string(url);
  return t;
}

const char* failure_name(failure f) {
  switch (f) {
    case failure::none:
      return "none";
    case failure::connect:
      return "connect_failed";
    case failure::closed:
      return "closed";
    case failure::timed_out:
      return "timed_out";
    case failure::abandoned:
      return "abandoned";
    case failure::overflow:
      return "client_overflow";
  }
  return "unknown";
}

std::string build_request(std::string_view method, std::string_view path,
                          std::string_view host_header, std::string_view bearer_token,
                          std::string_view headers, std::string_view body) {
  std::string w;
  w.reserve(160 + bearer_token.size() + headers.size() + body.size());
  w.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_header);
  w.append("\r\n");
  if (!bearer_token.empty()) w.append("Authorization: Bearer ").append(bearer_token).append("\r\n");
  w.append(headers);
  if (!body.empty()) {
    w.append("Content-Type: application/json\r\nContent-Length: ");
    w.append(std::to_string(body.size())).append("\r\n");
  } else if (method == "POST" || method == "PUT" || method == "PATCH") {
    w.append("Content-Length: 0\r\n");
  }
  w.append("\r\n").append(body);
  return w;
}

http_pool::http_pool(asio::io_context& io, target t, pool_options o)
    : io_(io), target_(std::move(t)), options_(o), sweep_timer_(io), reconnect_timer_(io) {
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  for (const auto& entry : resolver.resolve(target_.host, std::to_string(target_.port), ec))
    endpoints_.push_back(entry.endpoint());
}

http_pool::~http_pool() = default;

void http_pool::send(steady::time_point due, http_request request, answer_handler done) {
  pending p{due, {}, std::move(request), std::move(done)};
  if (shut_ || waiting_.size() >= options_.waiting_max) {
    auto why = shut_ ? failure::abandoned : failure::overflow;
    asio::post(io_, [this, p = std::move(p), why]() mutable {
      http_answer a;
      a.failed = why;
      finish(p, std::move(a));
    });
    return;
  }
  waiting_.push_back(std::move(p));
  pump();
}

// Gives waiting requests to idle connections, and opens connections for the rest.
void http_pool::pump() {
  if (shut_) return;
  while (!waiting_.empty() && !idle_.empty()) {
    connection* c = idle_.back();
    idle_.pop_back();
    pending p = std::move(waiting_.front());
    waiting_.pop_front();
    start(*c, std::move(p));
  }
  while (connecting_ < waiting_.size() && open_ + connecting_ < options_.connections_max &&
         !reconnect_armed_)
    open_one();
}

void http_pool::prewarm(size_t connections) {
  while (!shut_ && open_ + connecting_ < std::min(connections, options_.connections_max))
    open_one();
}

void http_pool::open_one() {
  connection* c = nullptr;
  if (!spare_.empty()) {
    c = spare_.back();
    spare_.pop_back();
  } else {
    connections_.push_back(std::make_unique<connection>(io_));
    c = connections_.back().get();
  }
  ++connecting_;
  ++connects_;
  c->connecting = true;
  c->reused = false;
  c->timed_out = false;
  c->started = steady::now();
  c->buffer.clear();
  asio::async_connect(
      c->socket, endpoints_,
      [this, c](const boost::system::error_code& ec, const tcp::endpoint&) { on_connect(*c, ec); });
  arm_sweep();
}

void http_pool::on_connect(connection& c, const boost::system::error_code& ec) {
  --connecting_;
  c.connecting = false;
  if (shut_ || ec) {
    boost::system::error_code ignored;
    c.socket.close(ignored);
    spare_.push_back(&c);
    if (shut_) return;
    ++connect_failures_;
    // Nothing can be sent while nothing connects: what waits fails now, and later requests
    // try again after a pause (not in a tight loop against a refusing port).
    if (open_ == 0 && connecting_ == 0) {
      while (!waiting_.empty()) {
        pending p = std::move(waiting_.front());
        waiting_.pop_front();
        http_answer a;
        a.failed = failure::connect;
        finish(p, std::move(a));
      }
    }
    if (!reconnect_armed_ && !shut_) {
      reconnect_armed_ = true;
      reconnect_timer_.expires_after(reconnect_delay);
      reconnect_timer_.async_wait([this](const boost::system::error_code& e) {
        reconnect_armed_ = false;
        if (!e) pump();
      });
    }
    return;
  }
  boost::system::error_code ignored;
  c.socket.set_option(tcp::no_delay(true), ignored);
  c.socket.non_blocking(true, ignored);  // answers are read by hand once readable
  ++open_;
  if (!waiting_.empty()) {
    pending p = std::move(waiting_.front());
    waiting_.pop_front();
    start(c, std::move(p));
  } else {
    c.idle_since = steady::now();
    idle_.push_back(&c);
  }
}

void http_pool::start(connection& c, pending p) {
  ++busy_;
  c.current.emplace(std::move(p));
  c.started = steady::now();
  c.current->sent = c.started;
  c.timed_out = false;
  auto bytes = c.current->request.bytes();
  asio::async_write(c.socket, asio::buffer(bytes.data(), bytes.size()),
                    [this, &c](const boost::system::error_code& ec, size_t) { on_written(c, ec); });
}

void http_pool::on_written(connection& c, const boost::system::error_code& ec) {
  if (ec) return fail(c, c.timed_out ? failure::timed_out : failure::closed);
  c.parser.emplace();
  c.parser->eager(true);
  c.parser->body_limit(options_.body_bytes_max);
  c.parser->keep_body = options_.keep_bodies;
  wait_readable(c);
}

// The answer is read when the socket is readable, not tried at once: right after the write
// it has not come yet, and the attempt would be a system call a request for nothing.
void http_pool::wait_readable(connection& c) {
  c.socket.async_wait(tcp::socket::wait_read,
                      [this, &c](const boost::system::error_code& ec) { on_readable(c, ec); });
}

void http_pool::on_readable(connection& c, const boost::system::error_code& ec) {
  if (ec) return fail(c, c.timed_out ? failure::timed_out : failure::closed);
  for (;;) {
    boost::system::error_code e;
    size_t n = c.socket.read_some(c.buffer.prepare(read_chunk_bytes), e);
    if (e == asio::error::would_block) return wait_readable(c);
    if (e == asio::error::eof && c.parser->got_some()) c.parser->put_eof(e);  // ended by the close
    if (e) return fail(c, failure::closed);
    c.buffer.commit(n);
    while (c.buffer.size() > 0 && !c.parser->is_done()) {
      size_t used = c.parser->put(c.buffer.data(), e);
      c.buffer.consume(used);
      if (e == http::error::need_more) break;
      if (e) return fail(c, failure::closed);  // not HTTP: the connection cannot go on
    }
    if (c.parser->is_done()) return answered(c);
  }
}

void http_pool::answered(connection& c) {
  http_answer a;
  a.status = c.parser->status;
  a.body = std::move(c.parser->body);
  a.retry_after_s = c.parser->retry_after_s;
  bool keep_alive = c.parser->keep_alive();
  c.parser.reset();
  pending p = std::move(*c.current);
  c.current.reset();
  --busy_;
  c.reused = true;
  // Idle before the callback, so a request it sends can take this connection.
  if (keep_alive) {
    c.idle_since = steady::now();
    idle_.push_back(&c);
  } else {
    retire(c);
  }
  finish(p, std::move(a));
  pump();
}

void http_pool::fail(connection& c, failure why) {
  pending p = std::move(*c.current);
  c.current.reset();
  --busy_;
  bool answered_some = c.parser && c.parser->got_some();
  bool stale =
      c.reused && why == failure::closed && !answered_some && p.request.resendable && !p.resent;
  c.parser.reset();
  retire(c);
  if (shut_) why = failure::abandoned;
  if (stale && !shut_) {
    p.resent = true;
    waiting_.push_front(std::move(p));
  } else {
    http_answer a;
    a.failed = why;
    finish(p, std::move(a));
  }
  pump();
}

void http_pool::finish(pending& p, http_answer a) {
  a.due = p.due;
  a.sent = p.sent;
  if (a.answered == steady::time_point{}) a.answered = steady::now();
  p.done(std::move(a));
}

// Closes a connection that is open and not busy (or whose request was just taken off it).
void http_pool::retire(connection& c) {
  boost::system::error_code ignored;
  c.socket.close(ignored);
  std::erase(idle_, &c);
  --open_;
  c.buffer.clear();
  spare_.push_back(&c);
}

void http_pool::arm_sweep() {
  if (sweep_armed_ || shut_) return;
  sweep_armed_ = true;
  sweep_timer_.expires_after(sweep_period);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    sweep_armed_ = false;
    if (!ec && !shut_) sweep();
  });
}

// Times out requests (and connects) that took too long, and closes long-idle connections.
void http_pool::sweep() {
  auto now = steady::now();
  for (auto& owned : connections_) {
    connection& c = *owned;
    if ((c.current || c.connecting) && !c.timed_out && now - c.started > options_.timeout) {
      c.timed_out = true;
      boost::system::error_code ignored;
      c.socket.close(ignored);  // the pending operation completes with an error
    }
  }
  std::vector<connection*> stale;
  for (connection* c : idle_)
    if (now - c->idle_since > idle_close) stale.push_back(c);
  for (connection* c : stale) retire(*c);
  if (open_ > 0 || connecting_ > 0) arm_sweep();
}

void http_pool::shutdown() {
  if (shut_) return;
  shut_ = true;
  sweep_timer_.cancel();
  reconnect_timer_.cancel();
  std::deque<pending> dropped;
  dropped.swap(waiting_);
  for (auto& p : dropped) {
    http_answer a;
    a.failed = failure::abandoned;
    finish(p, std::move(a));
  }
  for (connection* c : std::vector<connection*>(idle_)) retire(*c);
  for (auto& owned : connections_) {
    boost::system::error_code ignored;
    if (owned->current || owned->connecting) owned->socket.close(ignored);
  }
}

}  // namespace stampede::load
