#include "loadtest/rehearse/ws_client.h"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

namespace stampede::load {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
// Connecting and the upgrade together get this long.
constexpr std::chrono::seconds connect_timeout{10};
}  // namespace

ws_client::ws_client(asio::io_context& io, message_handler on_message, closed_handler on_closed)
    : ws_(io), on_message_(std::move(on_message)), on_closed_(std::move(on_closed)) {}

std::shared_ptr<ws_client> ws_client::open(asio::io_context& io,
                                           const std::vector<asio::ip::tcp::endpoint>& endpoints,
                                           const target& t, const std::string& token,
                                           std::vector<std::string> subscribe,
                                           message_handler on_message, closed_handler on_closed) {
  auto c = std::make_shared<ws_client>(io, std::move(on_message), std::move(on_closed));
  c->outbox_ = std::move(subscribe);
  beast::get_lowest_layer(c->ws_).expires_after(connect_timeout);
  beast::get_lowest_layer(c->ws_).async_connect(
      endpoints, [c, t, token](const boost::system::error_code& ec,
                               const asio::ip::tcp::endpoint&) { c->on_connect(ec, t, token); });
  return c;
}

void ws_client::on_connect(const boost::system::error_code& ec, const target& t,
                           const std::string& token) {
  if (ec || closing_) return finish(closing_ ? "closed here" : "connect: " + ec.message());
  beast::get_lowest_layer(ws_).socket().set_option(asio::ip::tcp::no_delay(true));
  std::string path = "/v1/ws";
  if (!token.empty()) path += "?access_token=" + token;
  ws_.async_handshake(
      t.host_header, path,
      [self = shared_from_this()](const boost::system::error_code& e) { self->on_handshake(e); });
}

void ws_client::on_handshake(const boost::system::error_code& ec) {
  if (ec || closing_) return finish(closing_ ? "closed here" : "upgrade: " + ec.message());
  beast::get_lowest_layer(ws_).expires_never();
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  opened_ = true;
  ws_.text(true);
  write_next();
  read_next();
}

// The subscribe messages, one write at a time.
void ws_client::write_next() {
  if (sent_ >= outbox_.size() || closing_) return;
  ws_.async_write(asio::buffer(outbox_[sent_]),
                  [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                    if (ec) return self->finish("write: " + ec.message());
                    ++self->sent_;
                    self->write_next();
                  });
}

void ws_client::read_next() {
  ws_.async_read(buffer_, [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    if (ec) return self->finish(self->closing_ ? "closed here" : "read: " + ec.message());
    std::string text = beast::buffers_to_string(self->buffer_.data());
    self->buffer_.consume(self->buffer_.size());
    self->on_message_(text);
    if (self->closing_) return self->finish("closed here");  // closed from the callback
    self->read_next();
  });
}

void ws_client::close() {
  if (closing_ || finished_) return;
  closing_ = true;
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

void ws_client::finish(const std::string& why) {
  if (finished_) return;
  finished_ = true;
  if (on_closed_) on_closed_(opened_, why);
}

}  // namespace stampede::load
