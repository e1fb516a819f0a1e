// One WebSocket connection (GET /v1/ws), on the shard that accepted it. Reads client
// messages one at a time (subscribe, unsubscribe, ping) and hands subscriptions to its
// shard's hub; writes one message at a time from a bounded queue in which a newer state of
// the same thing (a product's availability, an order's status) replaces an unsent older
// one. Lifetime by shared_from_this. Shard-local: only its shard's thread calls it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "server/auth.h"
#include "server/beast.h"
#include "server/json.h"
#include "server/ws_hub.h"

namespace stampede::http {

// A server message, rendered once and shared by every session it goes to.
std::shared_ptr<const std::string> ws_text(const json::value& v);
// {"type": "error", "code", "message"}
std::shared_ptr<const std::string> ws_error(std::string_view code, std::string_view message);

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket socket, ws_hub& hub, std::optional<identity> who);
  ~ws_session();

  // Answers the upgrade request, then reads messages.
  void run(bhttp::request<bhttp::string_body> req);

  // From the hub. `key` names what the message is the state of ("" for messages that never
  // replace one another).
  void deliver(std::shared_ptr<const std::string> text, std::string_view key);
  // The subscription answered by the topic's owners.
  void subscribed(const std::string& topic);
  bool awaiting(const std::string& topic) const { return pending_.contains(topic); }
  bool is_closed() const { return closed_; }
  const std::optional<identity>& who() const { return who_; }
  void forget(const std::string& topic);
  // Draining: a close frame with "going away".
  void going_away();

  uint64_t last_status_event = 0;  // the hub's event counter, so one event reaches a
  uint64_t last_note_event = 0;    // connection once whichever topics brought it

 private:
  struct queued {
    std::shared_ptr<const std::string> text;
    std::string key;
  };

  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec);
  void handle(std::string_view text);
  // The core topic of a client's topic ("orders" -> "orders:<user>"), or the error to send.
  std::optional<std::string> core_topic(const std::string& client_topic);
  void do_write();
  void on_write(beast::error_code ec);
  void set_cork(bool on);
  // The connection is over: leave every topic (the owners stop counting it).
  void closed();

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer in_;
  ws_hub& hub_;
  std::optional<identity> who_;
  absl::flat_hash_set<std::string> topics_;   // answered
  absl::flat_hash_set<std::string> pending_;  // asked, not yet answered
  std::deque<queued> queue_;
  bool writing_ = false;
  bool closed_ = false;
  bool corked_ = false;
};

}  // namespace stampede::http
