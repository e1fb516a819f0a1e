// One WebSocket connection (GET /v1/ws), on the shard that accepted it. Beast answers the
// upgrade; then the session owns the socket and speaks RFC 6455 itself (server/ws_frame.h),
// so that every frame it has queued leaves in one send: Beast writes one message a call,
// and writes pongs and closes on its own while reading, so raw writes beside it could
// interleave with its frames. Reads client messages (subscribe, unsubscribe, ping) and
// hands subscriptions to its shard's hub. Its bounded queue keeps the latest state of each
// thing (a product's availability, an order's status), not a backlog. Lifetime by
// shared_from_this. Shard-local: only its shard's thread calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "server/auth.h"
#include "server/beast.h"
#include "server/descriptor_budget.h"
#include "server/json.h"
#include "server/ws_frame.h"
#include "server/ws_hub.h"

namespace stampede::http {

// A server message, rendered and framed once and shared by every session it goes to.
// `key` names what state it is of (ws::frame): "" for messages that never replace another.
std::shared_ptr<const ws::frame> ws_text(const json::value& v, std::string key = {});
// An answer to the client's own message (ws::frame::reply).
std::shared_ptr<const ws::frame> ws_reply(const json::value& v);
// {"type": "error", "code", "message"}: a reply.
std::shared_ptr<const ws::frame> ws_error(std::string_view code, std::string_view message);

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket socket, ws_hub& hub, std::optional<identity> who, descriptor_slot slot);
  ~ws_session();

  // Answers the upgrade request, then reads messages.
  void run(bhttp::request<bhttp::string_body> req);

  // From the hub: a message to send. It leaves with whatever else is queued in the hub's
  // next flush pass, or after the write in flight.
  void deliver(std::shared_ptr<const ws::frame> f);
  // From the hub's flush pass: starts writing what is queued, unless a write is in flight.
  void flush();
  // From the hub's sweep, once every ws_sweep_period_ms: idle pings, the idle timeout, and
  // the time a close handshake may take.
  void sweep();

  // The subscription answered by the topic's owners.
  void subscribed(const std::string& topic);
  bool awaiting(const std::string& topic) const { return pending_.contains(topic); }
  bool is_closed() const { return state_ == state::closed; }
  const std::optional<identity>& who() const { return who_; }
  void forget(const std::string& topic);
  // Draining: a close frame with "going away" after what is queued.
  void going_away();
  // The drain's time is up: the socket closes now, whatever state the connection is in.
  void close_now() { end(); }

  uint64_t last_status_event = 0;  // the hub's event counter, so one event reaches a
  uint64_t last_note_event = 0;    // connection once whichever topics brought it

 private:
  enum class state : uint8_t {
    handshake,  // Beast is answering the upgrade
    open,
    closing,    // a close frame is queued or sent: no more messages; reads continue
    closed,     // the socket is closed and the hub forgotten
  };

  void on_accept(beast::error_code ec);
  void do_read();
  void on_readable(beast::error_code ec);
  // Feeds received bytes to the frame reader; false once the connection is over, or while
  // reading is paused (read_paused_): the bytes not yet read as frames wait in partial_.
  bool take(std::string_view bytes);
  // A full queue paused reading (a client sending requests faster than it reads the
  // replies); once it is written, the frames left in partial_ are read, then the socket.
  void resume_reading();
  bool on_event(const ws::event& e);
  void handle(std::string_view text);
  // The core topic of a client's topic ("orders" -> "orders:<user>"), or the error to send.
  std::optional<std::string> core_topic(const std::string& client_topic);
  // Queues a control frame (exempt from the message bound; at most one of each kind).
  void queue_control(ws::opcode op, std::string payload);
  // Queues a close frame after what is queued (`drop_queue`: instead of it); no code: an
  // empty close payload (the answer to a client's close that gave none).
  void start_close(std::optional<ws::close_code> code, std::string_view reason, bool drop_queue);
  void do_write();
  void on_writable(beast::error_code ec);
  // The write in flight is out.
  void on_written();
  // The connection is over: close the socket, leave every topic (the owners stop counting it).
  void end();

  tcp::socket socket_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> handshake_;  // only until upgraded
  ws_hub& hub_;
  descriptor_slot slot_;  // the socket's place in the descriptor budget
  std::optional<identity> who_;
  ws::frame_reader reader_;
  std::string partial_;  // the start of a frame whose rest has not arrived
  absl::flat_hash_set<std::string> topics_;   // answered
  absl::flat_hash_set<std::string> pending_;  // asked, not yet answered
  // Waiting frames, then the frames of the write in flight (both keep their capacity, so a
  // steady stream of bursts allocates nothing).
  std::vector<std::shared_ptr<const ws::frame>> queue_;
  std::vector<std::shared_ptr<const ws::frame>> in_flight_;
  size_t in_flight_frames_done_ = 0;  // whole frames of in_flight_ written
  size_t in_flight_bytes_done_ = 0;   // bytes written of the next one
  state state_ = state::handshake;
  bool writing_ = false;          // in_flight_ is being written
  bool read_paused_ = false;      // queue_ was full: no frame is read until it is written
  bool flush_scheduled_ = false;  // in the hub's next flush pass
  bool close_after_write_ = false;  // the close frame in flight ends the connection
  bool close_initiated_ = false;    // we sent close first: wait for the client's
  bool ping_outstanding_ = false;   // an idle ping was sent, nothing read since
  uint32_t silent_sweeps_ = 0;      // sweeps since the last byte read
  uint32_t closing_sweeps_ = 0;     // sweeps since the close frame was queued
};

}  // namespace stampede::http
