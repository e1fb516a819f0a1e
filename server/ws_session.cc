#include "server/ws_session.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "server/json_text.h"
#include "server/transport_limits.h"

namespace stampede::http {

namespace {

// Beside its messages a session may have one pong, one idle ping and one close queued.
constexpr size_t control_frames_max = 3;
constexpr size_t write_frames_max = ws_queue_max + control_frames_max;
// An unfinished frame's buffer is let go once empty past this, so one big frame does not pin memory.
constexpr size_t partial_keep_bytes = 256;
constexpr uint32_t idle_sweeps = ws_idle_timeout_s * 1000 / ws_sweep_period_ms;
constexpr uint32_t close_handshake_sweeps = ws_handshake_timeout_s * 1000 / ws_sweep_period_ms;
static_assert(idle_sweeps >= 2 && close_handshake_sweeps >= 1);

std::shared_ptr<const ws::frame> control_frame(ws::opcode op, std::string_view payload) {
  return std::make_shared<const ws::frame>(ws::frame{ws::encode(op, payload), {}});
}

}  // namespace

std::shared_ptr<const ws::frame> ws_text(const json::value& v, std::string key) {
  return std::make_shared<const ws::frame>(ws::frame{ws::encode(ws::opcode::text, to_json_text(v)), std::move(key)});
}

std::shared_ptr<const ws::frame> ws_reply(const json::value& v) {
  return std::make_shared<const ws::frame>(
      ws::frame{ws::encode(ws::opcode::text, to_json_text(v)), std::string(), true});
}

std::shared_ptr<const ws::frame> ws_error(std::string_view code, std::string_view message) {
  return ws_reply(json::object{{"type", "error"}, {"code", code}, {"message", message}});
}

ws_session::ws_session(tcp::socket socket, ws_hub& hub, std::optional<identity> who,
                       descriptor_slot slot)
    : socket_(std::move(socket)),
      hub_(hub),
      slot_(std::move(slot)),
      who_(std::move(who)),
      reader_(ws_message_bytes_max) {
  hub_.join(this, socket_.get_executor());
  ++hub_.stats().ws_connections;
}

ws_session::~ws_session() {
  hub_.leave(this);
  --hub_.stats().ws_connections;
}

// Beast answers the upgrade (checking the request, within the handshake timeout); the
// session takes the socket back once it has.
void ws_session::run(bhttp::request<bhttp::string_body> req) {
  handshake_ = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(socket_));
  beast::get_lowest_layer(*handshake_).expires_never();
  websocket::stream_base::timeout t;
  t.handshake_timeout = std::chrono::seconds(ws_handshake_timeout_s);
  t.idle_timeout = websocket::stream_base::none();  // the hub's sweep keeps time from here on
  t.keep_alive_pings = false;
  handshake_->set_option(t);
  handshake_->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(bhttp::field::server, "stampede"); }));
  handshake_->async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

// The upgrade is answered (or refused, by Beast): from here the socket is the session's.
void ws_session::on_accept(beast::error_code ec) {
  socket_ = handshake_->next_layer().release_socket();
  handshake_.reset();
  if (state_ == state::closed) return;  // close_now() came during the handshake
  if (ec) return end();
  const bool drain = state_ == state::closing;  // going_away() came during the handshake
  state_ = state::open;
  if (drain) {
    going_away();
  } else if (!queue_.empty() && !flush_scheduled_) {
    flush_scheduled_ = true;
    hub_.schedule_flush(shared_from_this());
  }
  do_read();
}

// Wait for the client's next bytes.
void ws_session::do_read() {
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](beast::error_code ec) { self->on_readable(ec); });
}

// Bytes (or the end) arrived: read them into the shard's buffer until the socket is drained.
// The reactor is edge-triggered, so a wait is armed only once a read came back short.
void ws_session::on_readable(beast::error_code ec) {
  if (state_ == state::closed) return;
  if (ec) return end();
  std::span<char> buffer = hub_.read_buffer();
  for (size_t reads = 0; reads < ws_reads_per_turn; ++reads) {
    ssize_t got = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (got == 0) return end();  // the client went away
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return do_read();
      return end();
    }
    silent_sweeps_ = 0;
    ping_outstanding_ = false;
    if (!take(std::string_view(buffer.data(), static_cast<size_t>(got)))) return;
    if (static_cast<size_t>(got) < buffer.size()) return do_read();
  }
  // Still more: the shard's other connections go first.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

// Whole frames go to on_event; only an unfinished one is kept, in partial_ (bounded: the
// reader fails a frame past the message bound from its header).
bool ws_session::take(std::string_view bytes) {
  std::string_view in = bytes;
  if (!partial_.empty()) {
    partial_.append(bytes);
    in = partial_;
  }
  for (;;) {
    // Every request may have a reply (a pong, an error): with the queue full, the next one
    // waits, in partial_ and then the socket, rather than push out an unsent reply. The
    // socket's buffers then fill and the client's writes wait on TCP's window.
    if (queue_.size() >= ws_queue_max && state_ == state::open) {
      read_paused_ = true;
      break;
    }
    ws::event e = reader_.next(in);
    if (e.what == ws::event::kind::need_more) break;
    if (!on_event(e)) return false;
  }
  if (partial_.empty()) {
    partial_.assign(in);
  } else {
    partial_.erase(0, partial_.size() - in.size());
    if (partial_.empty() && partial_.capacity() > partial_keep_bytes) partial_ = std::string();
  }
  return !read_paused_;
}

void ws_session::resume_reading() {
  // Closing too: the client's answer to our close is read, as when reading was not paused.
  if (!read_paused_ || state_ == state::closed) return;
  read_paused_ = false;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->silent_sweeps_ = 0;  // a client whose messages waited was not silent
    if (self->state_ == state::closed || !self->take({})) return;  // what partial_ holds first
    self->on_readable({});  // then the socket: it reads until the kernel has no more, then waits
  });
}

// One thing the client sent; false once nothing more is to be read.
bool ws_session::on_event(const ws::event& e) {
  switch (e.what) {
    case ws::event::kind::message:
      if (state_ != state::open) return true;  // after our close: read and ignored
      if (!e.text) {
        deliver(ws_error("invalid_request", "messages are JSON text frames"));
      } else {
        handle(e.payload);
      }
      return true;
    case ws::event::kind::ping:
      queue_control(ws::opcode::pong, std::string(e.payload));
      return true;
    case ws::event::kind::pong:
    case ws::event::kind::need_more:
      return true;
    case ws::event::kind::close:
      if (close_initiated_) {
        end();  // the client answered our close: the handshake is done
        return false;
      }
      // Answer with the client's code; after it, nothing more is sent or read.
      close_after_write_ = true;
      start_close(e.code == 0 ? std::nullopt : std::optional(static_cast<ws::close_code>(e.code)), "", true);
      return false;
    case ws::event::kind::fail:
      close_after_write_ = true;
      start_close(static_cast<ws::close_code>(e.code), e.payload, true);
      return false;
  }
  return false;
}

std::optional<std::string> ws_session::core_topic(const std::string& client_topic) {
  auto refuse = [&](std::string_view code, std::string_view message) -> std::optional<std::string> {
    deliver(ws_error(code, message));
    return std::nullopt;
  };
  // A standby or a replica serves product topics only: what it would send on the others
  // is the primary's to send (API.md, "Replication").
  if (!client_topic.starts_with("product:"))
    if (auto primary = hub_.following())
      return refuse("not_primary", primary->empty()
                                       ? "this node follows the primary: subscribe there (none is known now)"
                                       : "this node follows the primary: subscribe on " + *primary);
  if (client_topic == "orders") {
    if (!who_) return refuse("unauthorized", "the orders topic needs a token");
    return "orders:" + who_->user_id;
  }
  if (client_topic == "admin:orders" || client_topic == "admin:stats") {
    if (!who_) return refuse("unauthorized", client_topic + " needs a token");
    if (!who_->admin) return refuse("forbidden", client_topic + " is for admins");
    return client_topic;
  }
  if (client_topic.starts_with("order:")) {
    if (!who_) return refuse("unauthorized", "an order topic needs a token");
    return client_topic;
  }
  if (client_topic.starts_with("product:")) {
    if (hub_.rebuilding())
      return refuse("overloaded", "this node is rebuilding its store: subscribe again shortly");
    return client_topic;
  }
  if (client_topic.starts_with("queue:")) {  // the caller's own ticket: queue:<drop>:<user>
    if (!who_) return refuse("unauthorized", "a queue topic needs a token");
    if (client_topic.find(':', std::string_view("queue:").size()) != std::string::npos) return refuse("not_found", "no such drop");
    return client_topic + ":" + who_->user_id;
  }
  return refuse("not_found", "no such topic");
}

void ws_session::handle(std::string_view text) {
  auto v = parse_body(text);
  const json::object* o = v ? v->if_object() : nullptr;
  const json::string* op = o && o->contains("op") ? o->at("op").if_string() : nullptr;
  if (!op) return deliver(ws_error("invalid_request", R"(expected {"op": ...})"));
  if (*op == "ping") return deliver(ws_reply(json::object{{"type", "pong"}}));
  if (*op != "subscribe" && *op != "unsubscribe")
    return deliver(ws_error("invalid_request", "op must be subscribe, unsubscribe or ping"));
  const json::string* t = o->contains("topic") ? o->at("topic").if_string() : nullptr;
  if (!t || t->empty() || t->size() > ws_topic_length_max)
    return deliver(ws_error("invalid_request", "topic must be a string of 1.." +
                                                   std::to_string(ws_topic_length_max) + " characters"));
  std::string client_topic(t->data(), t->size());
  auto topic = core_topic(client_topic);
  if (!topic) return;
  if (*op == "unsubscribe") {
    if (!topics_.contains(*topic) && !pending_.contains(*topic))
      return deliver(ws_error("not_found", "not subscribed to " + client_topic));
    return hub_.unsubscribe(*this, *topic);
  }
  if (topics_.contains(*topic) || pending_.contains(*topic))
    return deliver(ws_error("invalid_request", "already subscribed to " + client_topic));
  if (topics_.size() + pending_.size() >= ws_subscriptions_max)
    return deliver(ws_error("invalid_request", "at most " + std::to_string(ws_subscriptions_max) +
                                                   " subscriptions a connection"));
  pending_.insert(*topic);
  hub_.subscribe(shared_from_this(), std::move(*topic), std::move(client_topic));
}

// A newer state of the same thing takes an unsent older one's place; past the bound the
// oldest unsent message goes. Frames already in flight are not touched.
void ws_session::deliver(std::shared_ptr<const ws::frame> f) {
  if (state_ != state::open && state_ != state::handshake) return;
  if (!f->key.empty()) {
    for (auto& q : queue_) {
      if (q->key == f->key) {
        q = std::move(f);
        ++hub_.stats().ws_messages_replaced;
        return;
      }
    }
  }
  if (queue_.size() >= ws_queue_max) {
    // The oldest push goes. Replies are never pushed out: the client's own messages stop
    // being read while the queue is full (take), so with the subscriptions' snapshots
    // (ws_subscriptions_max at most) they stay bounded. Only replies waiting: the push goes.
    auto oldest_push = std::find_if(queue_.begin(), queue_.end(),
                                    [](const auto& q) { return !q->is_control() && !q->reply; });
    if (oldest_push == queue_.end() && !f->reply) {
      ++hub_.stats().ws_messages_dropped;
      return;
    }
    if (oldest_push != queue_.end()) {
      queue_.erase(oldest_push);
      ++hub_.stats().ws_messages_dropped;
    }
  }
  queue_.push_back(std::move(f));
  if (!writing_ && !flush_scheduled_ && state_ == state::open) {
    flush_scheduled_ = true;
    hub_.schedule_flush(shared_from_this());
  }
}

void ws_session::queue_control(ws::opcode op, std::string payload) {
  if (state_ != state::open) return;
  auto f = control_frame(op, payload);
  // A pong answers the latest ping only (RFC 6455 5.5.3): one of each kind waits at most.
  for (auto& q : queue_) {
    if (q->is_control() && q->wire[0] == f->wire[0]) {
      q = std::move(f);
      return;
    }
  }
  queue_.push_back(std::move(f));
  if (!writing_ && !flush_scheduled_) {
    flush_scheduled_ = true;
    hub_.schedule_flush(shared_from_this());
  }
}

void ws_session::start_close(std::optional<ws::close_code> code, std::string_view reason, bool drop_queue) {
  if (state_ != state::open) return;
  if (drop_queue) queue_.clear();
  // Control payloads are at most 125 bytes: the code's 2 and the reason.
  std::string payload =
      code ? ws::close_payload(*code, reason.substr(0, ws::control_payload_bytes_max - 2)) : std::string();
  queue_.push_back(control_frame(ws::opcode::close, payload));
  state_ = state::closing;  // after the close frame, nothing
  closing_sweeps_ = 0;
  if (!writing_ && !flush_scheduled_) {
    flush_scheduled_ = true;
    hub_.schedule_flush(shared_from_this());
  }
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
  if (state_ == state::handshake) {
    state_ = state::closing;  // on_accept sends the close once the upgrade is answered
    return;
  }
  if (state_ != state::open) return;
  close_initiated_ = true;
  start_close(ws::close_code::going_away, "", false);
}

void ws_session::flush() {
  flush_scheduled_ = false;
  if (writing_ || queue_.empty() || state_ == state::closed || state_ == state::handshake) return;
  in_flight_.swap(queue_);  // queue_ was the empty one
  in_flight_frames_done_ = 0;
  in_flight_bytes_done_ = 0;
  writing_ = true;
  do_write();
  resume_reading();  // queue_ has room again (the frames in flight are bounded the same way)
}

// One sendmsg for every frame in flight (the frames are shared, so nothing is copied); what
// the socket did not take waits for it to be writable.
void ws_session::do_write() {
  std::array<iovec, write_frames_max> iov;
  size_t n = 0;
  for (size_t i = in_flight_frames_done_; i < in_flight_.size() && n < iov.size(); ++i, ++n) {
    const std::string& wire = in_flight_[i]->wire;
    const size_t skip = i == in_flight_frames_done_ ? in_flight_bytes_done_ : 0;
    iov[n] = iovec{const_cast<char*>(wire.data()) + skip, wire.size() - skip};
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = n;
  ssize_t sent;
  do {
    sent = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return end();
  for (size_t left = sent < 0 ? 0 : static_cast<size_t>(sent); left > 0;) {
    const size_t rest = in_flight_[in_flight_frames_done_]->wire.size() - in_flight_bytes_done_;
    const size_t took = std::min(left, rest);
    left -= took;
    in_flight_bytes_done_ += took;
    if (took == rest) ++in_flight_frames_done_, in_flight_bytes_done_ = 0;
  }
  if (in_flight_frames_done_ == in_flight_.size()) return on_written();
  socket_.async_wait(tcp::socket::wait_write,
                     [self = shared_from_this()](beast::error_code ec) { self->on_writable(ec); });
}

// The client took some bytes: write more.
void ws_session::on_writable(beast::error_code ec) {
  if (state_ == state::closed) return;
  if (ec) return end();
  do_write();
}

void ws_session::on_written() {
  uint64_t messages = 0;
  for (const auto& f : in_flight_) messages += f->is_control() ? 0 : 1;
  hub_.stats().ws_messages_sent.fetch_add(messages, std::memory_order_relaxed);
  const bool sent_close = in_flight_.back()->is(ws::opcode::close);
  in_flight_.clear();
  writing_ = false;
  if (sent_close) {
    // Answering the client's close or failing: done. Our own close waits for the client's.
    if (close_after_write_) end();
    return;
  }
  if (!queue_.empty()) flush();  // what came while this was in flight
}

void ws_session::sweep() {
  if (state_ == state::handshake || state_ == state::closed) return;  // Beast times the handshake
  if (state_ == state::closing) {
    if (++closing_sweeps_ >= close_handshake_sweeps) end();
    return;
  }
  // Nothing read for half the idle time: a ping, which a live client answers. Nothing for
  // all of it: the connection is dead (as Beast's idle timeout, no close frame).
  if (++silent_sweeps_ >= idle_sweeps) return end();
  if (silent_sweeps_ >= idle_sweeps / 2 && !ping_outstanding_) {
    ping_outstanding_ = true;
    queue_control(ws::opcode::ping, "");
  }
}

void ws_session::end() {
  if (state_ == state::closed) return;
  auto self = shared_from_this();  // the hub's lists may hold the last references
  state_ = state::closed;
  beast::error_code ignored;
  if (handshake_) handshake_->next_layer().socket().close(ignored);
  socket_.close(ignored);  // cancels the waits; no write holds a buffer (sendmsg is synchronous)
  queue_.clear();
  in_flight_.clear();
  writing_ = false;
  auto topics = topics_;
  for (const auto& t : topics) hub_.unsubscribe(*this, t);
  pending_.clear();  // answers still coming are undone by the hub when they arrive
}

}  // namespace stampede::http
