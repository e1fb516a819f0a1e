// The replicated log's transport, on NATS JetStream: a connection to a list of servers, a
// shard's stream (created if missing, starting with its GENESIS frame), conditional
// appends, asynchronous publishes whose acks go to a handler, stream info and purge, and a
// tail (an ordered consumer read by a thread of its own). The only header over nats.h: the
// rest of the server sees these types. Every call here may block on the network, so none
// is made on a shard thread; the handlers run on NATS or tail threads and must only hand
// what they get to its owner (a message to the shard). Frames: stream_frame.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace stampede::repl {

// How long a connection attempt, and each JetStream API request, may take.
inline constexpr int64_t nats_connect_timeout_ms = 2000;
inline constexpr int64_t nats_request_wait_ms = 2000;
// Between reconnect attempts (a killed server's clients move to another one at once).
inline constexpr int64_t nats_reconnect_wait_ms = 100;
// Pings a second and how many may go unanswered: a stopped server is noticed in ~3 s, not
// the library's default 2 minutes.
inline constexpr int64_t nats_ping_interval_ms = 1000;
inline constexpr int nats_pings_out_max = 2;
// Bytes buffered for the servers while reconnecting; past it a publish fails (and is
// retried by its publisher).
inline constexpr int nats_reconnect_buffer_bytes = 64 * 1024 * 1024;
// The library's own bound on unacknowledged asynchronous publishes, well above ours
// (stream_publisher.h) so that a publish never waits inside the library.
inline constexpr int64_t nats_publishes_pending_max = 4096;
// A retried MsgId is recognised for this long (the stream's duplicates window): longer
// than any retry of a publisher (an election takes 4-9 s).
inline constexpr int64_t stream_duplicates_window_ms = 120'000;
// Server heartbeats of a tail's consumer; two missed ones make the tail unhealthy.
inline constexpr int64_t tail_heartbeat_ms = 250;
// A tail that has had nothing for this long while the stream holds messages past its
// position starts a new consumer there. libnats re-creates an ordered consumer whose
// heartbeats stop, but not one stalled on flow control: a consumer whose flow-control reply
// was lost waits for it for good while its heartbeats go on, which libnats 3.4.1 takes for
// health (test NatsTailStall.*; seen after every server was killed and restarted).
inline constexpr int64_t tail_stalled_resubscribe_ms = 2000;
// Messages a tail hands on before its consumer says it is done with them.
inline constexpr size_t tail_window_messages = 64;
// What a tail's subscription may buffer from the server (flow control keeps it far lower).
inline constexpr int tail_pending_messages_max = 65'536;
inline constexpr int tail_pending_bytes_max = 256 * 1024 * 1024;

class nats_connection {
 public:
  struct options {
    std::vector<std::string> servers;  // nats://host:port
    std::string name;                  // how the servers' monitoring shows the client
  };
  // Connects to one of the servers (blocking; reconnects by itself afterwards).
  static result<std::unique_ptr<nats_connection>> connect(const options& opts);
  ~nats_connection();
  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  bool connected() const;

  struct impl;
  impl& internals() { return *impl_; }

 private:
  explicit nats_connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// One shard's stream.
struct stream_config {
  std::string cluster;  // valid_cluster_name()
  uint32_t shard = 0;
  uint32_t shards = 1;
  int replicas = 3;
  int64_t max_bytes = -1;  // -1: unlimited; a full stream refuses appends (DiscardNew)
  int64_t duplicates_window_ms = stream_duplicates_window_ms;
};
// "STAMPEDE_<cluster>_<shard>" and "stampede.<cluster>.<shard>".
std::string stream_name(std::string_view cluster, uint32_t shard);
std::string stream_subject(std::string_view cluster, uint32_t shard);

enum class append_status : uint8_t {
  appended,       // stored (or stored before: duplicate); `sequence` says where
  fenced,         // the stream's last sequence was not the expected one (JetStream 10071)
  timeout,        // no answer in time: it may or may not be stored
  no_responders,  // no stream leader (an election, a lost quorum): not stored
  failed,         // anything else; `message` says what
};
struct append_result {
  append_status status = append_status::failed;
  uint64_t sequence = 0;
  bool duplicate = false;  // a message with its MsgId was stored already, at `sequence`
  std::string message;
};

struct stream_state {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t messages = 0;
  // Server name of the stream's leader. "" when there is none: the figures above may then
  // be a replica's stale view, not to be trusted.
  std::string leader;
};

struct stored_message {
  uint64_t sequence = 0;
  std::string msg_id;
  std::string data;
};

class shard_stream {
 public:
  // Acks of publish(), with the MsgId the message carried; on a NATS thread.
  using ack_handler = std::function<void(const std::string& msg_id, append_result)>;

  shard_stream(nats_connection& connection, stream_config config, ack_handler on_ack = {});
  ~shard_stream();
  shard_stream(const shard_stream&) = delete;
  shard_stream& operator=(const shard_stream&) = delete;

  const stream_config& config() const { return config_; }
  const std::string& name() const { return name_; }
  const std::string& subject() const { return subject_; }

  // Creates the stream if it is missing (R = replicas, file storage, DiscardNew, a
  // duplicates window, MaxMsgSize stream_message_bytes_max) and appends its GENESIS
  // frame if it has never held a message. Blocking: keeps trying for a while when the
  // cluster or the new stream has no leader yet.
  result<stream_state> ensure();
  result<stream_state> info();
  // Appends `data` if the stream's last sequence is `expected_last_seq` (REQUIRES: >= 1)
  // and, unless `expected_last_id` is empty, its last message's MsgId is that one,
  // waiting up to `wait_ms` for the answer. Blocking. The MsgId check is what fences a
  // writer's pipelined frames: a frame chained on one that lost its place to a takeover
  // would otherwise find the sequence it expects (the takeover's) and land after it.
  append_result append(std::string_view data, uint64_t expected_last_seq, const std::string& msg_id,
                       int64_t wait_ms, const std::string& expected_last_id = "");
  // The same, asynchronously: the answer (or a timeout after `wait_ms`) goes to the ack
  // handler, exactly once. False when the library refused it at once (nothing was sent,
  // no ack will come).
  bool publish(std::string_view data, uint64_t expected_last_seq, const std::string& msg_id,
               int64_t wait_ms, const std::string& expected_last_id = "");
  result<stored_message> get(uint64_t sequence);
  // Removes every message below `sequence`; the last sequence stays (appends chain on).
  result<ok_t> purge_below(uint64_t sequence);

  struct impl;

 private:
  result<stream_state> ensure_once();

  stream_config config_;
  std::string name_;
  std::string subject_;
  std::unique_ptr<impl> impl_;
};

// How many times a listing of the registry with a repeated key is read again.
inline constexpr int registry_listing_attempts_max = 3;

// Advisory facts each node publishes about itself (its URL, role, the stream sequences its
// snapshots cover), one value per node id in a JetStream key-value bucket whose entries
// lapse after `ttl_ms` unless written again. Nothing correct depends on them: the log is
// the lease (the bucket's compare-and-set lets two writers win on 2.9.10, and is not
// used); they steer purges and tell clients where the primary is. Blocking calls.
class node_registry {
 public:
  node_registry(nats_connection& connection, std::string cluster, int replicas, int64_t ttl_ms);
  ~node_registry();
  node_registry(const node_registry&) = delete;
  node_registry& operator=(const node_registry&) = delete;

  // Creates (or binds to) the bucket "STAMPEDE_<cluster>_nodes".
  result<ok_t> ensure();
  result<ok_t> put(const std::string& node_id, std::string_view value);
  // Every node's latest value (those not lapsed), by node id.
  result<std::vector<std::pair<std::string, std::string>>> all();

  struct impl;

 private:
  // The bucket's keys, sorted, each once (see nats_stream.cc on repeated keys).
  result<std::vector<std::string>> keys();

  std::unique_ptr<impl> impl_;
};

// Follows a shard's stream from a sequence, in order, on a thread of its own: each message
// goes to `deliver` (on that thread), and at most `window` go out before the consumer has
// said `consumed()` for them, so a slow consumer holds the tail back instead of buffering.
// The stream's sequences have no gaps (nothing is deleted, purges cut the front only), so
// a consumer that sees sequence s+2 after s knows it missed something (it was purged).
class stream_tail {
 public:
  struct message {
    uint64_t sequence = 0;
    uint64_t pending = 0;  // messages in the stream after this one when it was sent
    std::string data;      // the frame (stream_frame.h)
  };
  using deliver_handler = std::function<void(message&&)>;

  stream_tail(nats_connection& connection, const stream_config& config, uint64_t from_sequence,
              deliver_handler deliver, size_t window = tail_window_messages);
  ~stream_tail();  // stops
  // Stops following and joins the thread (any thread but the tail's; idempotent): nothing
  // is delivered after it returns.
  void stop();
  stream_tail(const stream_tail&) = delete;
  stream_tail& operator=(const stream_tail&) = delete;

  // Any thread: `n` delivered messages are done with.
  void consumed(size_t n = 1);
  // Subscribed, connected, and the server's heartbeats arriving: silence on the stream is
  // the writer's, not the tail's.
  bool healthy() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace stampede::repl
