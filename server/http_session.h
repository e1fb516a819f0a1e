// One HTTP/1.1 connection, on the shard that accepted it: read a request (every transport
// limit set before a byte is parsed), hand it to the shard's routes, write the answer, read
// the next. Requests are handled one at a time in arrival order, so pipelined requests are
// answered in order. GET /v1/ws hands the socket to a WebSocket session. Lifetime by
// shared_from_this. Shard-local: only its shard's thread calls it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "server/beast.h"
#include "server/shard_context.h"

namespace stampede::http {

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket socket, shard_context& ctx);
  ~http_session();

  void run() { do_read(); }

 private:
  void do_read();
  void on_read(beast::error_code ec, size_t);
  // The transport's view of a parsed request: framing checks, then the request for routes.
  void dispatch();
  void upgrade(const request& r);
  // Answers an error the transport found itself, then closes.
  void reject(unsigned status, std::string_view code, std::string message);
  void do_write(response out);
  void on_write(beast::error_code ec);
  void close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  shard_context& ctx_;
  bool keep_alive_ = true;
  bool answered_ = false;  // at least one answer written on this connection
  static constexpr size_t write_buffer_keep_bytes = 16 * 1024;
  static constexpr size_t no_route = ~size_t{0};
  size_t route_ = no_route;  // the request in flight, for metrics
  std::chrono::steady_clock::time_point started_;
  std::string write_buffer_;
};

}  // namespace stampede::http
