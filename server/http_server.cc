#include "server/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <atomic>
#include <future>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "absl/container/flat_hash_set.h"
#include "server/rfc3339.h"
#include "server/webhook_client.h"

namespace stampede::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

class session;
class ws_session;

}  // namespace

// One shard's WebSocket hub: the connections this shard holds, by topic, and the live
// sink its shard delivers watch answers and events to. Shard-local: no locks.
struct ws_hub final : live_sink {
  ws_hub(engine& eng, uint32_t shard, const presentation& pres, metrics& m)
      : eng(eng), shard(shard), pres(pres), stats(m) {}
  engine& eng;
  const uint32_t shard;
  const presentation& pres;
  metrics& stats;
  absl::flat_hash_set<ws_session*> sessions;  // open ones (declared first: destroyed last)
  // Core topic ("orders:<user>", "order:<id>", "product:<id>", "admin:orders") -> sessions
  // whose subscription was answered.
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<ws_session>>> subscribers;
  struct pending_watch {
    std::weak_ptr<ws_session> who;
    std::string topic;         // core
    std::string client_topic;  // as the client named it
    uint32_t remaining = 0;    // owners yet to answer
    std::optional<watch_snapshot> snapshot;
  };
  absl::flat_hash_map<uint64_t, pending_watch> pending;
  uint64_t next_ticket = 1;
  uint64_t next_event = 1;

  // Starts a subscription; the answer comes through watch_answered.
  void subscribe(const std::shared_ptr<ws_session>& s, std::string topic, std::string client_topic);
  // Ends one (answered or not).
  void unsubscribe(ws_session& s, const std::string& topic);
  void close_all();

  void watch_answered(uint64_t ticket, result<watch_snapshot> answer) override;
  void order_changed(const std::shared_ptr<const order_event>& e) override;
  void availability(const std::string& product_id, int64_t available, int64_t at_ms) override;
};

// What one shard runs: its acceptor, its `api`, and a count of its connections.
struct http_server::shard_server {
  shard_server(engine& eng, const server_settings& settings, metrics& m, uint32_t shard)
      : io(eng.io(shard)),
        settings(settings),
        routes(eng, settings, io.get_executor(), m),
        acceptor(io),
        hub(eng, shard, settings.pres, m),
        webhooks(io, eng.webhook_outbox_at(shard), settings.pres, m, settings.webhook_retry_ms,
                 settings.webhook_ca_file) {}
  asio::io_context& io;
  const server_settings& settings;
  api routes;
  tcp::acceptor acceptor;
  ws_hub hub;
  webhook_deliverer webhooks;
  std::atomic<size_t> connections{0};
  bool accepting = true;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

response to_response_status(unsigned status, std::string_view code, std::string message) {
  return http_error(status, code, std::move(message));
}

std::shared_ptr<const std::string> ws_text(const json::value& v) {
  return std::make_shared<const std::string>(json::serialize(v));
}

std::shared_ptr<const std::string> ws_error(std::string_view code, std::string_view message) {
  return ws_text(json::object{{"type", "error"}, {"code", code}, {"message", message}});
}

// One WebSocket connection, on the shard that accepted it. Reads client messages one at a
// time; writes one message at a time from a bounded queue in which a newer state of the
// same thing (a product's availability, an order's status) replaces an unsent older one.
class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket socket, http::http_server::shard_server& home, std::optional<identity> who)
      : ws_(std::move(socket)), home_(home), who_(std::move(who)) {
    home_.hub.sessions.insert(this);
    ++home_.hub.stats.ws_connections;
  }
  ~ws_session() {
    home_.hub.sessions.erase(this);
    --home_.hub.stats.ws_connections;
  }

  void run(bhttp::request<bhttp::string_body> req) {
    // The WebSocket stream keeps its own timeouts: a handshake limit, and pings when idle.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::seconds(ws_idle_timeout_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(ws_message_bytes_max);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "stampede"); }));
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->closed();
      self->do_read();
    });
  }

  // From the hub (this shard's thread). `key` names what the message is the state of
  // ("" for messages that never replace one another).
  void deliver(std::shared_ptr<const std::string> text, std::string_view key) {
    if (closed_) return;
    if (!key.empty()) {
      for (size_t i = writing_ ? 1 : 0; i < queue_.size(); ++i) {
        if (queue_[i].key == key) {
          queue_[i].text = std::move(text);
          ++home_.hub.stats.ws_messages_replaced;
          return;
        }
      }
    }
    if (queue_.size() >= ws_queue_max) {
      queue_.erase(queue_.begin() + (writing_ ? 1 : 0));
      ++home_.hub.stats.ws_messages_dropped;
    }
    queue_.push_back({std::move(text), std::string(key)});
    if (!writing_) write_next();
  }

  // The subscription answered by the topic's owner.
  void subscribed(const std::string& topic) {
    pending_.erase(topic);
    topics_.insert(topic);
  }
  bool awaiting(const std::string& topic) const { return pending_.contains(topic); }
  bool is_closed() const { return closed_; }
  const std::optional<identity>& who() const { return who_; }
  void forget(const std::string& topic) {
    pending_.erase(topic);
    topics_.erase(topic);
  }
  void going_away() {
    if (closed_) return;
    ws_.async_close(websocket::close_code::going_away,
                    [self = shared_from_this()](beast::error_code) {});
  }

  uint64_t last_status_event = 0;  // the hub's event counter, so one event reaches a
  uint64_t last_note_event = 0;    // connection once whichever topics brought it

 private:
  struct queued {
    std::shared_ptr<const std::string> text;
    std::string key;
  };

  void do_read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) return closed();  // closed, timed out, or a protocol error (Beast has answered it)
    std::string text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    if (!ws_.got_text()) {
      deliver(ws_error("invalid_request", "messages are JSON text frames"), "");
    } else {
      handle(text);
    }
    do_read();
  }

  void handle(std::string_view text) {
    auto v = parse_body(text);
    const json::object* o = v ? v->if_object() : nullptr;
    const json::string* op = o && o->contains("op") ? o->at("op").if_string() : nullptr;
    if (!op) return deliver(ws_error("invalid_request", R"(expected {"op": ...})"), "");
    if (*op == "ping") return deliver(ws_text(json::object{{"type", "pong"}}), "");
    if (*op != "subscribe" && *op != "unsubscribe")
      return deliver(ws_error("invalid_request", "op must be subscribe, unsubscribe or ping"), "");
    const json::string* t = o->contains("topic") ? o->at("topic").if_string() : nullptr;
    if (!t || t->empty() || t->size() > 200)
      return deliver(ws_error("invalid_request", "topic must be a string of 1..200 characters"), "");
    std::string client_topic(t->data(), t->size());
    std::string topic;
    if (client_topic == "orders") {
      if (!who_) return deliver(ws_error("unauthorized", "the orders topic needs a token"), "");
      topic = "orders:" + who_->user_id;
    } else if (client_topic == "admin:orders") {
      if (!who_) return deliver(ws_error("unauthorized", "admin:orders needs a token"), "");
      if (!who_->admin) return deliver(ws_error("forbidden", "admin:orders is for admins"), "");
      topic = client_topic;
    } else if (client_topic.rfind("order:", 0) == 0) {
      if (!who_) return deliver(ws_error("unauthorized", "an order topic needs a token"), "");
      topic = client_topic;
    } else if (client_topic.rfind("product:", 0) == 0) {
      topic = client_topic;
    } else {
      return deliver(ws_error("not_found", "no such topic"), "");
    }
    if (*op == "unsubscribe") {
      if (!topics_.contains(topic) && !pending_.contains(topic))
        return deliver(ws_error("not_found", "not subscribed to " + client_topic), "");
      home_.hub.unsubscribe(*this, topic);
      return;
    }
    if (topics_.contains(topic) || pending_.contains(topic))
      return deliver(ws_error("invalid_request", "already subscribed to " + client_topic), "");
    if (topics_.size() + pending_.size() >= ws_subscriptions_max)
      return deliver(ws_error("invalid_request", "at most " + std::to_string(ws_subscriptions_max) +
                                                     " subscriptions a connection"), "");
    pending_.insert(topic);
    home_.hub.subscribe(shared_from_this(), std::move(topic), std::move(client_topic));
  }

  void write_next() {
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
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return self->closed();
                      ++self->home_.hub.stats.ws_messages_sent;
                      self->queue_.pop_front();
                      self->write_next();
                    });
  }

  void set_cork(bool on) {
    int v = on ? 1 : 0;
    ::setsockopt(beast::get_lowest_layer(ws_).socket().native_handle(), IPPROTO_TCP, TCP_CORK, &v,
                 sizeof v);
    corked_ = on;
  }

  // The connection is over: leave every topic (the owners stop counting it).
  void closed() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    auto topics = topics_;
    for (const auto& t : topics) home_.hub.unsubscribe(*this, t);
    pending_.clear();  // answers still coming are undone by the hub when they arrive
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer in_;
  http::http_server::shard_server& home_;
  std::optional<identity> who_;
  absl::flat_hash_set<std::string> topics_;   // answered
  absl::flat_hash_set<std::string> pending_;  // asked, not yet answered
  std::deque<queued> queue_;
  bool writing_ = false;
  bool closed_ = false;
  bool corked_ = false;
};

// One connection: read a request, answer it, read the next. Requests are handled one at a
// time in arrival order, so pipelined requests are answered in order.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, http_server::shard_server& home)
      : stream_(std::move(socket)), home_(home) {
    ++home_.connections;
  }
  ~session() { --home_.connections; }

  void run() { do_read(); }

 private:
  // Read the next request, with every limit set before a byte is parsed.
  void do_read() {
    parser_.emplace();
    parser_->header_limit(request_head_bytes_max);
    parser_->body_limit(request_body_bytes_max);
    // A fresh connection, or bytes already waiting: the request timeout. Between keep-alive
    // requests: the idle timeout.
    stream_.expires_after(std::chrono::seconds(
        answered_ && buffer_.size() == 0 ? keep_alive_idle_timeout_s
                                         : home_.settings.request_timeout_s));
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  // A request arrived, or the connection failed, timed out or sent something malformed.
  void on_read(beast::error_code ec, size_t) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return close();
    if (ec == beast::error::timeout) return close();
    if (ec == bhttp::error::header_limit)
      return reject(431, "request_header_fields_too_large", "the request head is over 8 KiB");
    if (ec == bhttp::error::body_limit)
      return reject(413, "payload_too_large", "the body is over 64 KiB");
    if (ec) return reject(400, "invalid_request", "malformed HTTP request: " + ec.message());
    auto& req = parser_->get();
    // Both framings at once is how request smuggling starts: refuse it.
    if (req.find(bhttp::field::content_length) != req.end() &&
        req.find(bhttp::field::transfer_encoding) != req.end())
      return reject(400, "invalid_request", "Content-Length and Transfer-Encoding together");
    keep_alive_ = req.keep_alive();
    request r;
    r.method = std::string(req.method_string());
    parse_target(req.target(), r);
    auto header = [&](bhttp::field f) {
      auto it = req.find(f);
      return it == req.end() ? std::string() : std::string(it->value());
    };
    r.authorization = header(bhttp::field::authorization);
    r.content_type = header(bhttp::field::content_type);
    r.if_none_match = header(bhttp::field::if_none_match);
    if (auto it = req.find("Idempotency-Key"); it != req.end())
      r.idempotency_key = std::string(it->value());
    if (auto it = req.find("Stampede-Signature"); it != req.end())
      r.signature = std::string(it->value());
    if (r.path == "/v1/ws") return upgrade(r);
    r.body = std::move(req.body());
    started_ = std::chrono::steady_clock::now();
    route_ = home_.routes.handle(std::move(r), [self = shared_from_this()](response out) {
      self->write(std::move(out));
    });
  }

  // GET /v1/ws: check the token (header or ?access_token=) and hand the socket to a
  // WebSocket session. No token is fine (product topics); a bad one is 401.
  void upgrade(const request& r) {
    auto& req = parser_->get();
    if (r.method != "GET" || !websocket::is_upgrade(req))
      return reject(400, "invalid_request", "GET /v1/ws must be a WebSocket upgrade");
    auto token = r.query.find("access_token");
    std::string_view bare = token == r.query.end() ? std::string_view() : token->second;
    std::optional<identity> who = home_.routes.identify(r.authorization, bare);
    if (!who && (!r.authorization.empty() || !bare.empty()))
      return reject(401, "unauthorized", "the token is not valid");
    if (home_.hub.sessions.size() >= ws_connections_per_shard_max) {
      response busy = to_response_status(503, "overloaded", "too many WebSocket connections");
      busy.headers.emplace_back("Retry-After", "1");
      keep_alive_ = false;
      route_ = metrics::routes_max - 1;
      started_ = std::chrono::steady_clock::now();
      return write(std::move(busy));
    }
    tcp::socket socket = stream_.release_socket();
    beast::error_code ignored;
    socket.set_option(asio::socket_base::send_buffer_size(ws_send_buffer_bytes), ignored);
    std::make_shared<ws_session>(std::move(socket), home_, std::move(who))->run(parser_->release());
  }

  void reject(unsigned status, std::string_view code, std::string message) {
    keep_alive_ = false;
    route_ = metrics::routes_max - 1;  // counted as "unmatched"
    started_ = std::chrono::steady_clock::now();
    write(to_response_status(status, code, std::move(message)));
  }

  // The status line, headers and body go out as one buffer: Beast's serializer costs more
  // than the rest of a product read here (measured with callgrind), for no gain on answers
  // this simple.
  void write(response out) {
    if (route_ != no_route) {
      home_.routes.stats().observe(
          route_, out.status,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count());
      route_ = no_route;
    }
    // One write in flight per connection, so one buffer serves them all.
    std::string& wire = write_buffer_;
    wire.clear();
    std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(out.status));
    wire.append("HTTP/1.1 ").append(std::to_string(out.status)).append(" ").append(reason);
    wire.append("\r\nServer: stampede\r\n");
    if (out.status != 204 && out.status != 304)
      wire.append("Content-Type: ").append(out.content_type).append("\r\n");
    for (auto& [name, value] : out.headers) wire.append(name).append(": ").append(value).append("\r\n");
    if (out.status != 204 && out.status != 304)
      wire.append("Content-Length: ").append(std::to_string(out.body.size())).append("\r\n");
    if (!keep_alive_) wire.append("Connection: close\r\n");
    wire.append("\r\n").append(out.body);
    if (wire.capacity() > write_buffer_keep_bytes && wire.size() < write_buffer_keep_bytes / 4) {
      wire.shrink_to_fit();  // a large answer once should not pin memory for the connection
    }
    stream_.expires_after(std::chrono::seconds(home_.settings.request_timeout_s));
    asio::async_write(stream_, asio::buffer(wire),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    answered_ = true;
    if (ec || !keep_alive_ || !home_.accepting) return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{request_head_bytes_max + request_body_bytes_max};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  http::http_server::shard_server& home_;
  bool keep_alive_ = true;
  bool answered_ = false;  // at least one answer written on this connection
  static constexpr size_t write_buffer_keep_bytes = 16 * 1024;
  static constexpr size_t no_route = ~size_t{0};
  size_t route_ = no_route;  // the request in flight, for metrics
  std::chrono::steady_clock::time_point started_;
  std::string write_buffer_;
};

}  // namespace

// ---- The WebSocket hub ----

void ws_hub::subscribe(const std::shared_ptr<ws_session>& s, std::string topic,
                       std::string client_topic) {
  auto owners = eng.topic_owners(topic);
  if (owners.empty()) {
    s->forget(topic);
    return s->deliver(ws_error("not_found", "no such " + client_topic.substr(0, client_topic.find(':'))), "");
  }
  uint64_t ticket = next_ticket++;
  pending.emplace(ticket, pending_watch{s, topic, std::move(client_topic),
                                        static_cast<uint32_t>(owners.size()), std::nullopt});
  const auto& who = s->who();
  eng.watch(topic, who ? who->user_id : std::string(), who && who->admin, shard, ticket);
}

void ws_hub::unsubscribe(ws_session& s, const std::string& topic) {
  bool answered = !s.awaiting(topic);
  s.forget(topic);
  if (!answered) return;  // watch_answered undoes it when the answer comes
  auto it = subscribers.find(topic);
  if (it != subscribers.end()) {
    auto& list = it->second;
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].get() == &s) {
        list[i] = std::move(list.back());
        list.pop_back();
        break;
      }
    }
    if (list.empty()) subscribers.erase(it);
  }
  eng.unwatch(topic, shard);
}

void ws_hub::close_all() {
  for (ws_session* s : sessions) s->going_away();
}

void ws_hub::watch_answered(uint64_t ticket, result<watch_snapshot> answer) {
  auto it = pending.find(ticket);
  if (it == pending.end()) return;
  pending_watch& w = it->second;
  auto s = w.who.lock();
  if (!answer.ok()) {
    // A refusal comes from the only owner: nothing was counted.
    if (s) {
      s->forget(w.topic);
      s->deliver(ws_error(to_string(answer.code()), answer.err().message), "");
    }
    pending.erase(it);
    return;
  }
  if (answer->order_now || answer->available) w.snapshot = std::move(answer.value());
  if (--w.remaining > 0) return;
  pending_watch done = std::move(w);
  pending.erase(it);
  if (!s || s->is_closed() || !s->awaiting(done.topic)) {
    eng.unwatch(done.topic, shard);  // gone or unsubscribed meanwhile: the owners stop counting
    return;
  }
  s->subscribed(done.topic);
  subscribers[done.topic].push_back(s);
  json::object msg{{"type", "subscribed"}, {"topic", done.client_topic}};
  if (done.snapshot && done.snapshot->order_now) {
    msg["snapshot"] = to_json(*done.snapshot->order_now, pres);
  } else if (done.snapshot && done.snapshot->available) {
    msg["snapshot"] = json::object{{"product_id", done.topic.substr(8)},
                                   {"available", *done.snapshot->available}};
  }
  s->deliver(ws_text(msg), "");
}

void ws_hub::order_changed(const std::shared_ptr<const order_event>& e) {
  const uint64_t seq = next_event++;
  const order& o = e->now;
  std::shared_ptr<const std::string> status_text, note_text;
  auto status = [&] {
    if (!status_text) {
      json::object m{{"type", "order.status"},
                     {"order_id", o.id},
                     {"status", to_string(o.status)},
                     {"previous", nullptr},
                     {"tracking_number", nullptr},
                     {"at", format_rfc3339_ms(o.history.empty() ? o.updated_at_ms : o.history.back().at_ms)}};
      if (e->previous) m["previous"] = to_string(*e->previous);
      if (o.tracking_number) m["tracking_number"] = *o.tracking_number;
      status_text = ws_text(m);
    }
    return status_text;
  };
  auto note = [&] {
    if (!note_text)
      note_text = ws_text(json::object{{"type", "notification"}, {"notification", to_json(e->note, pres)}});
    return note_text;
  };
  const std::string order_key = "o:" + o.id;
  auto send_to = [&](const std::string& topic, bool owner) {
    auto it = subscribers.find(topic);
    if (it == subscribers.end()) return;
    for (const auto& s : it->second) {
      if (e->status_changed && s->last_status_event != seq) {
        s->last_status_event = seq;
        s->deliver(status(), order_key);
      }
      if (owner && s->last_note_event != seq) {
        s->last_note_event = seq;
        s->deliver(note(), "");
      }
    }
  };
  send_to("orders:" + o.user_id, true);
  send_to("order:" + o.id, true);
  send_to("admin:orders", false);
}

void ws_hub::availability(const std::string& product_id, int64_t available, int64_t at_ms) {
  auto it = subscribers.find("product:" + product_id);
  if (it == subscribers.end()) return;
  auto text = ws_text(json::object{{"type", "product.availability"},
                                   {"product_id", product_id},
                                   {"available", available},
                                   {"at", format_rfc3339_ms(at_ms)}});
  const std::string key = "p:" + product_id;
  for (const auto& s : it->second) s->deliver(text, key);
}

void http_server::shard_server::do_accept() {
  acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void http_server::shard_server::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !accepting) return;
  if (!ec) {
    if (connections.load() >= connections_per_shard_max) {
      beast::error_code ignored;
      socket.close(ignored);  // over the bound: refuse at once rather than queue
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<session>(std::move(socket), *this)->run();
    }
  }
  do_accept();
}

http_server::http_server(engine& eng, server_settings settings)
    : settings_(std::move(settings)),
      metrics_(std::make_unique<metrics>(api::route_names())) {
  for (uint32_t i = 0; i < eng.shard_count(); ++i)
    shards_.push_back(
        std::make_unique<shard_server>(eng, settings_, *metrics_, i));
  // Each shard's hub becomes its live sink, set on the shard's own thread.
  for (uint32_t i = 0; i < eng.shard_count(); ++i) eng.set_live_sink(i, &shards_[i]->hub);
}

http_server::~http_server() = default;

std::string http_server::start(const std::string& host, unsigned short port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return "bad listen address " + host + ": " + ec.message();
  tcp::endpoint endpoint(address, port);
  for (auto& s : shards_) {
    s->acceptor.open(endpoint.protocol(), ec);
    if (!ec) s->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(s->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
        return "SO_REUSEPORT: " + std::string(std::strerror(errno));
    }
    if (!ec) s->acceptor.bind(endpoint, ec);
    if (!ec) s->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "cannot listen on " + host + ":" + std::to_string(endpoint.port()) + ": " +
                   ec.message();
    // Every later acceptor binds the port the first one got (port 0 picks one).
    endpoint.port(s->acceptor.local_endpoint().port());
  }
  port_ = endpoint.port();
  for (auto& s : shards_) {
    asio::post(s->io, [srv = s.get()] { srv->do_accept(); });
    s->webhooks.start();
  }
  return "";
}

void http_server::stop_accepting() {
  for (auto& s : shards_) {
    std::promise<void> done;
    asio::post(s->io, [srv = s.get(), &done] {
      srv->accepting = false;
      beast::error_code ignored;
      srv->acceptor.close(ignored);
      srv->hub.close_all();
      srv->webhooks.stop();
      done.set_value();
    });
    done.get_future().wait();
  }
}

size_t http_server::open_connections() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->connections.load();
  return n + static_cast<size_t>(std::max<int64_t>(0, metrics_->ws_connections.load()));
}

}  // namespace stampede::http
