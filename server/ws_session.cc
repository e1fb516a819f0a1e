#include "server/ws_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "server/transport_limits.h"

namespace stampede::http {

std::shared_ptr<const std::string> ws_text(const json::value& v) {
  return std::make_shared<const std::string>(json::serialize(v));
}

std::shared_ptr<const std::string> ws_error(std::string_view code, std::string_view message) {
  return ws_text(json::object{{"type", "error"}, {"code", code}, {"message", message}});
}

ws_session::ws_session(tcp::socket socket, ws_hub& hub, std::optional<identity> who)
    : ws_(std::move(socket)), hub_(hub), who_(std::move(who)) {
  hub_.join(this);
  ++hub_.stats().ws_connections;
}

ws_session::~ws_session() {
  hub_.leave(this);
  --hub_.stats().ws_connections;
}

void ws_session::run(bhttp::request<bhttp::string_body> req) {
  // The WebSocket stream keeps its own timeouts: a handshake limit, and pings when idle.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout t;
  t.handshake_timeout = std::chrono::seconds(ws_handshake_timeout_s);
  t.idle_timeout = std::chrono::seconds(ws_idle_timeout_s);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(ws_message_bytes_max);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(bhttp::field::server, "stampede"); }));
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

// The upgrade is answered: read the first message.
void ws_session::on_accept(beast::error_code ec) {
  if (ec) return closed();
  do_read();
}

// Read the next client message.
void ws_session::do_read() {
  ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

// A message, or the end: closed, timed out, or a protocol error (Beast has answered it).
void ws_session::on_read(beast::error_code ec) {
  if (ec) return closed();
  std::string text = beast::buffers_to_string(in_.data());
  in_.consume(in_.size());
  if (!ws_.got_text()) {
    deliver(ws_error("invalid_request", "messages are JSON text frames"), "");
  } else {
    handle(text);
  }
  do_read();
}

std::optional<std::string> ws_session::core_topic(const std::string& client_topic) {
  auto refuse = [&](std::string_view code, std::string_view message) -> std::optional<std::string> {
    deliver(ws_error(code, message), "");
    return std::nullopt;
  };
  if (client_topic == "orders") {
    if (!who_) return refuse("unauthorized", "the orders topic needs a token");
    return "orders:" + who_->user_id;
  }
  if (client_topic == "admin:orders") {
    if (!who_) return refuse("unauthorized", "admin:orders needs a token");
    if (!who_->admin) return refuse("forbidden", "admin:orders is for admins");
    return client_topic;
  }
  if (client_topic.starts_with("order:")) {
    if (!who_) return refuse("unauthorized", "an order topic needs a token");
    return client_topic;
  }
  if (client_topic.starts_with("product:")) return client_topic;
  return refuse("not_found", "no such topic");
}

void ws_session::handle(std::string_view text) {
  auto v = parse_body(text);
  const json::object* o = v ? v->if_object() : nullptr;
  const json::string* op = o && o->contains("op") ? o->at("op").if_string() : nullptr;
  if (!op) return deliver(ws_error("invalid_request", R"(expected {"op": ...})"), "");
  if (*op == "ping") return deliver(ws_text(json::object{{"type", "pong"}}), "");
  if (*op != "subscribe" && *op != "unsubscribe")
    return deliver(ws_error("invalid_request", "op must be subscribe, unsubscribe or ping"), "");
  const json::string* t = o->contains("topic") ? o->at("topic").if_string() : nullptr;
  if (!t || t->empty() || t->size() > ws_topic_length_max)
    return deliver(ws_error("invalid_request", "topic must be a string of 1.." +
                                                   std::to_string(ws_topic_length_max) + " characters"), "");
  std::string client_topic(t->data(), t->size());
  auto topic = core_topic(client_topic);
  if (!topic) return;
  if (*op == "unsubscribe") {
    if (!topics_.contains(*topic) && !pending_.contains(*topic))
      return deliver(ws_error("not_found", "not subscribed to " + client_topic), "");
    return hub_.unsubscribe(*this, *topic);
  }
  if (topics_.contains(*topic) || pending_.contains(*topic))
    return deliver(ws_error("invalid_request", "already subscribed to " + client_topic), "");
  if (topics_.size() + pending_.size() >= ws_subscriptions_max)
    return deliver(ws_error("invalid_request", "at most " + std::to_string(ws_subscriptions_max) +
                                                   " subscriptions a connection"), "");
  pending_.insert(*topic);
  hub_.subscribe(shared_from_this(), std::move(*topic), std::move(client_topic));
}

void ws_session::deliver(std::shared_ptr<const std::string> text, std::string_view key) {
  if (closed_) return;
  if (!key.empty()) {
    for (size_t i = writing_ ? 1 : 0; i < queue_.size(); ++i) {
      if (queue_[i].key == key) {
        queue_[i].text = std::move(text);
        ++hub_.stats().ws_messages_replaced;
        return;
      }
    }
  }
  if (queue_.size() >= ws_queue_max) {
    queue_.erase(queue_.begin() + (writing_ ? 1 : 0));
    ++hub_.stats().ws_messages_dropped;
  }
  queue_.push_back({std::move(text), std::string(key)});
  if (!writing_) do_write();
}

void ws_session::subscribed(const std::string& topic) {
  pending_.erase(topic);
  topics_.insert(topic);
}

void ws_session::forget(const std::string& topic) {
  pending_.erase(topic);
  topics_.erase(topic);
}

void ws_session::going_away() {
  if (closed_) return;
  ws_.async_close(websocket::close_code::going_away, [self = shared_from_this()](beast::error_code) {});
}

// Write the oldest queued message, if any and none is in flight.
void ws_session::do_write() {
  if (queue_.empty() || closed_) {
    // A burst is over: what the cork held goes out as few segments as it fills.
    if (corked_) set_cork(false);
    return;
  }
  // Several messages waiting (a fan-out burst): cork the socket so they leave together
  // rather than a segment each, which costs the receiver a wake-up and a read per message.
  if (!corked_ && queue_.size() > 1) set_cork(true);
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(*queue_.front().text),
                  [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); });
}

// One message is out: the next.
void ws_session::on_write(beast::error_code ec) {
  writing_ = false;
  if (ec) return closed();
  ++hub_.stats().ws_messages_sent;
  queue_.pop_front();
  do_write();
}

void ws_session::set_cork(bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(beast::get_lowest_layer(ws_).socket().native_handle(), IPPROTO_TCP, TCP_CORK, &v,
               sizeof v);
  corked_ = on;
}

void ws_session::closed() {
  if (closed_) return;
  closed_ = true;
  queue_.clear();
  auto topics = topics_;
  for (const auto& t : topics) hub_.unsubscribe(*this, t);
  pending_.clear();  // answers still coming are undone by the hub when they arrive
}

}  // namespace stampede::http
