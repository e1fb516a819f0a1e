#include "server/startup_responder.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <string_view>

#include <boost/asio/read_until.hpp>

#include "server/beast.h"
#include "server/transport_limits.h"

namespace stampede::http {

namespace {

std::string answer_for(std::string_view request) {
  auto line_end = request.find("\r\n");
  std::string_view line = request.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  std::string_view target =
      sp2 == std::string_view::npos ? std::string_view() : line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  std::string status, body, extra;
  if (line.substr(0, sp1) == "GET" && target == "/healthz") {
    status = "200 OK";
    body = R"({"status":"ok"})";
  } else if (line.substr(0, sp1) == "GET" && target == "/readyz") {
    status = "503 Service Unavailable";
    body = R"({"status":"starting"})";
  } else {
    status = "503 Service Unavailable";
    body = R"({"error":{"code":"overloaded","message":"the store is still recovering; try again shortly","details":{}}})";
    extra = "Retry-After: 1\r\n";
  }
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "Connection: close\r\n\r\n" + body;
}

// One connection: read a head within the deadline, answer it, close.
class early_session : public std::enable_shared_from_this<early_session> {
 public:
  early_session(tcp::socket socket, std::shared_ptr<size_t> open)
      : stream_(std::move(socket)), open_(std::move(open)) {
    ++*open_;
  }
  ~early_session() { --*open_; }

  void run() {
    stream_.expires_after(std::chrono::milliseconds(startup_head_timeout_ms));
    asio::async_read_until(stream_, asio::dynamic_buffer(head_, request_head_bytes_max), "\r\n\r\n",
                           beast::bind_front_handler(&early_session::on_read, shared_from_this()));
  }

 private:
  // A head, or too much, garbage without an end, or the deadline: answer what came, unless
  // the time ran out or the client left.
  void on_read(beast::error_code ec, size_t) {
    if (ec == beast::error::timeout || ec == asio::error::eof || ec == asio::error::connection_reset)
      return stream_.close();
    answer_ = answer_for(head_);
    asio::async_write(stream_, asio::buffer(answer_),
                      [self = shared_from_this()](beast::error_code, size_t) { self->close(); });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::string head_;
  std::string answer_;
  std::shared_ptr<size_t> open_;
};

}  // namespace

struct startup_responder::state : std::enable_shared_from_this<state> {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::shared_ptr<size_t> open = std::make_shared<size_t>(0);
  bool stopping = false;

  void do_accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      self->on_accept(ec, std::move(s));
    });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) serve(std::move(socket));
    if (!stopping) do_accept();
  }

  void serve(tcp::socket socket) {
    if (*open >= startup_connections_max) return;  // closed as it goes out of scope
    std::make_shared<early_session>(std::move(socket), open)->run();
  }

  // Takes what is already queued on the socket (it would be refused once closed), then
  // closes it.
  void take_queued_and_close() {
    stopping = true;
    beast::error_code ec;
    acceptor.non_blocking(true, ec);
    for (;;) {
      tcp::socket s(io);
      acceptor.accept(s, ec);
      if (ec) break;
      serve(std::move(s));
    }
    acceptor.close(ec);
  }
};

startup_responder::~startup_responder() {
  stop();
  if (thread_.joinable()) thread_.join();  // each connection ends by its deadline
}

std::string startup_responder::start(const std::string& host, unsigned short port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return "bad listen address " + host;
  tcp::endpoint endpoint(address, port);
  auto st = std::make_shared<state>();
  tcp::acceptor& a = st->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  int one = 1;
  if (!ec && ::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    ec = beast::error_code(errno, boost::system::system_category());
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
  port_ = a.local_endpoint().port();
  st->do_accept();
  state_ = st;
  thread_ = std::thread([st] { st->io.run(); });
  return "";
}

void startup_responder::stop() {
  if (!state_) return;
  // Waits for the socket to close (quick: it takes only what is queued), not for clients.
  std::promise<void> closed;
  asio::post(state_->io, [st = state_, &closed] {
    st->take_queued_and_close();
    closed.set_value();
  });
  closed.get_future().wait();
  state_.reset();  // the thread's handlers keep what they need
}

}  // namespace stampede::http
