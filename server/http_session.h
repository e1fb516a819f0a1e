// One HTTP/1.1 connection, on the shard that accepted it: read a request head (every
// transport limit set before a byte is parsed), check its framing, answer Expect:
// 100-continue, read the body within its route's limit, hand the request to the shard's
// routes, write the answer, read the next. Requests are handled one at a time in arrival
// order, so pipelined requests are answered in order. While a request is served, one read
// of the socket waits ahead ("lookahead"): it is the next request's first read and, for a
// write in the engine, the watch for a client that has gone, so a request costs the read
// that brought it, one that finds the socket empty, and the answer's write. An answer after
// which the connection ends is followed by a lingering close. GET /v1/ws hands the socket
// to a WebSocket session. Lifetime by shared_from_this. Shard-local: only its shard's
// thread calls it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "server/beast.h"
#include "server/descriptor_budget.h"
#include "server/shard_context.h"

namespace stampede::http {

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket socket, shard_context& ctx, descriptor_slot slot);
  ~http_session();

  void run() { do_read_header(); }
  // Draining: a session waiting for a request that has not begun closes now; one that is
  // reading or serving a request closes after answering it.
  void drain();
  // The drain's time is up: the connection closes now, in whatever state (half a head, half
  // a body, an answer being written); a write of its still queued is not run.
  void close_now();
  // From the shard's sweep (server/http_sessions.h): whether a read or write of this
  // session has run past its time, and if so, the end of the connection.
  bool past_deadline(std::chrono::steady_clock::time_point now) const { return now > deadline_; }
  void time_out();

 private:
  // The time the pending read or write has (the request timeout, or the keep-alive idle
  // time between requests), kept by the shard's sweep; none while the routes hold a request.
  void set_deadline(std::chrono::seconds limit) { deadline_ = std::chrono::steady_clock::now() + limit; }
  void clear_deadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }

  void do_read_header();
  void on_header(beast::error_code ec, size_t);
  // The head is in: framing checks, then 100 Continue, the body, or the request itself.
  void on_head_complete();
  void do_continue();
  void on_continue(beast::error_code ec);
  void do_read_body();
  void on_body(beast::error_code ec, size_t);
  // A read failed: the peer left, timed out, or sent something malformed.
  void on_read_error(beast::error_code ec);
  void dispatch();
  // From a request's dispatch to the next request: read what the client sends next into
  // the buffer. Its end (EOF, reset) while a write is in the engine flags the request gone
  // (a queued write is then not run, and nothing is written back); its bytes are the next
  // request's. Not started while bytes of a pipelined request are already buffered.
  void do_lookahead();
  void on_lookahead(beast::error_code ec, size_t n);
  // A write in the engine with a pipelined request already buffered: watch the socket for
  // the client's end without reading it.
  void do_watch();
  void on_watch(beast::error_code ec);
  void upgrade(const request& r);
  // Answers an error the transport found itself, then closes.
  void reject(unsigned status, std::string_view code, std::string message);
  void do_write(response out);
  void on_write(beast::error_code ec);
  // A streamed body (response::body_source): the next piece from the descriptor, written.
  void do_stream();
  void on_stream_read(beast::error_code ec, size_t n);
  // Lingering close: stop writing, read and discard for a bounded time and size, close.
  void do_linger();
  void linger_read();
  void on_linger(beast::error_code ec, size_t n);
  void leave();  // no longer counted as an open session (lingering or closed)
  void close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  shard_context& ctx_;
  descriptor_slot slot_;
  bool keep_alive_ = true;
  bool answered_ = false;  // at least one answer written on this connection
  bool head_only_ = false;  // the request in flight is a HEAD: its answer goes without a body
  bool reading_ = false;   // a read of a request is pending
  bool counted_ = true;    // in ctx_.sessions
  int empty_lines_ = 0;    // skipped before this request's line
  size_t body_bytes_max_ = 0;  // this request's: its route's
  static constexpr size_t write_buffer_keep_bytes = 16 * 1024;
  static constexpr size_t no_route = ~size_t{0};
  size_t route_ = no_route;  // the request in flight, for metrics
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point linger_until_;
  size_t lingered_bytes_ = 0;
  std::string write_buffer_;
  std::shared_ptr<const int> body_source_;  // keeps the descriptor open while it streams
  std::optional<asio::posix::stream_descriptor> source_;
  static constexpr size_t stream_chunk_bytes = 64 * 1024;
  std::string stream_chunk_;
  std::shared_ptr<std::atomic<bool>> gone_;  // the request in the engine's; reused when free
  bool awaiting_answer_ = false;  // a request is in the routes or the engine
  bool watching_ = false;         // a wait for the client's EOF is pending
  bool lookahead_pending_ = false;  // do_lookahead's read is in flight
  bool waiting_next_ = false;       // answered; the lookahead waits for the next request
  bool peer_closed_ = false;        // the lookahead ended without bytes: no next request
  bool lingering_ = false;          // closing: the lookahead is cancelled, then lingered
  static constexpr size_t lookahead_bytes_max = 64 * 1024;  // one read's worth, as Beast's
};

}  // namespace stampede::http
