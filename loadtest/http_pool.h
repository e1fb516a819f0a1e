// An open-model HTTP/1.1 client for one target: keep-alive connections opened as needed up
// to a cap. Each request comes with the instant it was due; when no connection is free it
// waits here, in order, and its latency still counts from that instant (coordinated
// omission corrected: a stalled server delays every request due meanwhile, as it would real
// users). Single-threaded: every call and every callback runs on the one thread that runs
// the io_context, which must outlive the pool's last handler (call shutdown(), then run).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace stampede::load {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

// http://host:port, or host:port (port 80 when none; a trailing "/" is allowed). A path, a
// query, or a scheme other than http (https is not spoken) is refused, with `error` saying so.
struct target {
  std::string host;
  uint16_t port = 80;
  std::string host_header;  // host:port
};
std::optional<target> parse_target(std::string_view url, std::string& error);

// Why a request has no answer.
enum class failure : uint8_t { none, connect, closed, timed_out, abandoned, overflow };
const char* failure_name(failure f);

struct http_answer {
  unsigned status = 0;  // 0 when there is no answer; `failed` says why
  failure failed = failure::none;
  std::string body;
  int64_t retry_after_s = -1;  // the Retry-After header in seconds, -1 when absent
  steady::time_point due, answered;
  steady::time_point sent;  // when its write began here; {} if it was never sent
  std::chrono::nanoseconds latency() const { return answered - due; }
};

struct http_request {
  std::string wire;  // the whole request: head and body
  // May be sent again when a reused connection closes before any byte of the answer (the
  // server dropped an idle keep-alive connection): reads, and writes with an Idempotency-Key.
  bool resendable = false;
  // Instead of `wire`: request text the caller keeps alive until the answer, so a run that
  // sends the same few requests millions of times copies none of them.
  std::string_view shared;

  std::string_view bytes() const { return wire.empty() ? shared : std::string_view(wire); }
};

// Request text with the headers every request here carries; `headers` are whole lines
// ("Name: value\r\n"). A body makes it JSON with a Content-Length.
std::string build_request(std::string_view method, std::string_view path,
                          std::string_view host_header, std::string_view bearer_token,
                          std::string_view headers, std::string_view body);

using answer_handler = absl::AnyInvocable<void(http_answer&&)>;

struct pool_options {
  size_t connections_max = 256;
  std::chrono::milliseconds timeout{10'000};  // from sending to the whole answer
  size_t waiting_max = 4'000'000;             // requests waiting for a connection
  size_t body_bytes_max = 64u << 20;
  bool keep_bodies = true;  // false: bodies are read and dropped (only status and headers)
};

class http_pool {
 public:
  // Connections idle this long are closed here, before the server's own idle timeout
  // (60 s) can close them under a request.
  static constexpr std::chrono::seconds idle_close{30};
  // How often in-flight requests are checked against the timeout.
  static constexpr std::chrono::milliseconds sweep_period{50};
  // After a failed connect, the wait before the next attempt.
  static constexpr std::chrono::milliseconds reconnect_delay{20};
  // Bytes read from a socket at a time.
  static constexpr size_t read_chunk_bytes = 16 * 1024;

  http_pool(asio::io_context& io, target t, pool_options o);
  ~http_pool();
  http_pool(const http_pool&) = delete;
  http_pool& operator=(const http_pool&) = delete;

  // Sends once a connection is free; `done` runs exactly once, with the answer or a failure.
  void send(steady::time_point due, http_request request, answer_handler done);
  // Opens connections (up to the cap) before any request needs them, so the first second of
  // a run does not measure connection set-up.
  void prewarm(size_t connections);
  // Fails everything waiting or in flight as `abandoned` and closes every connection.
  void shutdown();

  size_t waiting() const { return waiting_.size(); }
  size_t in_flight() const { return busy_; }
  size_t open_connections() const { return open_; }
  uint64_t connects() const { return connects_; }
  uint64_t connect_failures() const { return connect_failures_; }

 private:
  struct pending {
    steady::time_point due;
    steady::time_point sent;  // the last time its write began
    http_request request;
    answer_handler done;
    bool resent = false;
  };
  struct connection;

  void pump();
  void open_one();
  void on_connect(connection& c, const boost::system::error_code& ec);
  void start(connection& c, pending p);
  void on_written(connection& c, const boost::system::error_code& ec);
  void wait_readable(connection& c);
  void on_readable(connection& c, const boost::system::error_code& ec);
  void answered(connection& c);
  void fail(connection& c, failure why);
  void finish(pending& p, http_answer a);
  void retire(connection& c);
  void arm_sweep();
  void sweep();

  asio::io_context& io_;
  target target_;
  pool_options options_;
  std::vector<asio::ip::tcp::endpoint> endpoints_;
  std::vector<std::unique_ptr<connection>> connections_;
  std::vector<connection*> idle_;
  std::vector<connection*> spare_;  // closed, ready to be opened again
  std::deque<pending> waiting_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer reconnect_timer_;
  bool sweep_armed_ = false;
  bool reconnect_armed_ = false;
  bool shut_ = false;
  size_t busy_ = 0;
  size_t open_ = 0;  // connected, busy or idle
  size_t connecting_ = 0;
  uint64_t connects_ = 0;
  uint64_t connect_failures_ = 0;
};

}  // namespace stampede::load
