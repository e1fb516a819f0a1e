// A WebSocket client on Beast for the rehearsal's watchers (product:{id}) and for shoppers
// waiting in a drop's queue (queue:{drop}): it connects to GET /v1/ws, sends its subscribe
// messages, then hands every text message to a callback until it is closed. Lifetime by
// shared_from_this. Single-threaded: calls and callbacks on the io_context's one thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "loadtest/http_pool.h"

namespace stampede::load {

class ws_client : public std::enable_shared_from_this<ws_client> {
 public:
  using message_handler = absl::AnyInvocable<void(std::string_view text)>;
  // Runs once when the connection ends (or never opened); `opened` says whether it had.
  using closed_handler = absl::AnyInvocable<void(bool opened, const std::string& why)>;

  static std::shared_ptr<ws_client> open(asio::io_context& io,
                                         const std::vector<asio::ip::tcp::endpoint>& endpoints,
                                         const target& t, const std::string& token,
                                         std::vector<std::string> subscribe,
                                         message_handler on_message, closed_handler on_closed);
  // Closes the connection; the closed handler runs with why = "closed here".
  void close();
  bool opened() const { return opened_; }

  // Use open().
  ws_client(asio::io_context& io, message_handler on_message, closed_handler on_closed);

 private:
  void on_connect(const boost::system::error_code& ec, const target& t, const std::string& token);
  void on_handshake(const boost::system::error_code& ec);
  void write_next();
  void read_next();
  void finish(const std::string& why);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::vector<std::string> outbox_;
  size_t sent_ = 0;
  message_handler on_message_;
  closed_handler on_closed_;
  bool opened_ = false;
  bool finished_ = false;
  bool closing_ = false;
};

}  // namespace stampede::load
