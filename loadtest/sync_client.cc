#include "loadtest/sync_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <optional>

namespace stampede::load {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct sync_client::state {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

sync_client::sync_client(target t, std::chrono::milliseconds timeout)
    : target_(std::move(t)), timeout_(timeout), state_(std::make_unique<state>()) {}

sync_client::~sync_client() = default;

sync_client::answer sync_client::request(std::string_view method, std::string_view path,
                                         std::string_view token, std::string_view body,
                                         std::string_view headers) {
  std::string wire = build_request(method, path, target_.host_header, token, headers, body);
  std::string what = std::string(method) + " " + std::string(path);
  bool reused = state_->stream.has_value();
  answer a = attempt(wire, what);
  // The idle connection had been closed.
  if (a.status == 0 && reused && !a.timed_out) a = attempt(wire, what);
  return a;
}

// Runs the operations started on the stream to their end; the stream's timer (set by
// expires_after) closes the socket when they take too long, which ends them with
// beast::error::timeout.
void sync_client::run_io() {
  state_->io.restart();
  state_->io.run();
}

sync_client::answer sync_client::attempt(const std::string& wire, std::string_view what) {
  answer a;
  beast::error_code ec;
  auto ms = std::to_string(timeout_.count()) + " ms";
  if (!state_->stream) {
    tcp::resolver resolver(state_->io);
    auto endpoints = resolver.resolve(target_.host, std::to_string(target_.port), ec);
    if (ec) {
      a.error = "cannot resolve " + target_.host + ": " + ec.message();
      return a;
    }
    state_->stream.emplace(state_->io);
    state_->stream->expires_after(timeout_);
    state_->stream->async_connect(
        endpoints, [&ec](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    run_io();
    if (ec) {
      state_->stream.reset();
      a.timed_out = ec == beast::error::timeout;
      a.error = a.timed_out ? "connecting to " + target_.host_header + " took over " + ms
                            : "cannot connect to " + target_.host_header + ": " + ec.message();
      return a;
    }
    state_->buffer.clear();
  }
  auto& stream = *state_->stream;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  stream.expires_after(timeout_);  // for the write and the whole answer together
  asio::async_write(stream, asio::buffer(wire), [&](const beast::error_code& e, size_t) {
    ec = e;
    if (!ec)
      http::async_read(stream, state_->buffer, parser,
                       [&ec](const beast::error_code& e2, size_t) { ec = e2; });
  });
  run_io();
  if (ec) {
    state_->stream.reset();
    a.timed_out = ec == beast::error::timeout;
    a.error = a.timed_out ? std::string(what) + " got no answer within " + ms
                          : std::string(what) + ": " + ec.message();
    return a;
  }
  auto& msg = parser.get();
  a.status = msg.result_int();
  a.body = std::move(msg.body());
  if (auto it = msg.find(http::field::retry_after); it != msg.end()) {
    auto v = it->value();
    std::from_chars(v.data(), v.data() + v.size(), a.retry_after_s);
  }
  if (!msg.keep_alive()) state_->stream.reset();
  return a;
}

}  // namespace stampede::load
