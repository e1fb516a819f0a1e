// The messages of a shard's replicated log: one JetStream stream per shard (nats_stream.h),
// whose every message is one frame in this format. Plain values: any thread.
//
//   offset  size  field
//   0       4     crc           u32 LE, CRC32C of bytes [4, end), except a BATCH's body
//   4       1     version       frame_version (1)
//   5       1     kind          frame_kind below
//   6       2     node_length   u16 LE, bytes of node id (0 only in GENESIS)
//   8       8     epoch         u64 LE, the writer's epoch (0 in GENESIS)
//   16      8     last_lsn      u64 LE, the writer's last log record at this frame
//   24      4     body_length   u32 LE
//   28      n     node id       the writer's --node-id
//   28+n    m     body          by kind, below
//
// Bodies:
//   GENESIS    u32 LE shard, u32 LE shard count, then the cluster name. The first message
//              of every stream (JetStream never sends ExpectLastSeq 0, so a writer needs
//              one message to chain after); its bytes depend on the cluster only, so two
//              nodes creating the stream at once publish the same message and MsgId.
//   BATCH      whole write-ahead-log records (wal_format.h), in log order, the last one
//              numbered last_lsn: the very bytes of (part of) a group-commit batch, so one
//              decoder serves the local log, recovery and replication. Each record carries
//              its own CRC32C; the frame's CRC covers its header only.
//   HEARTBEAT  the writer's advertised URL. An idle primary's sign of life.
//   TAKEOVER   the new primary's advertised URL; `epoch` is the new epoch. Appended with
//              ExpectLastSeq = the last sequence its writer applied: it makes the writer
//              primary and fences every other writer.
//
// Nats-Msg-Id (msg_id below): "<cluster>.<shard>.<epoch>.<node>.<instance>.<n>", n
// counting the writer's frames in its epoch from 1, <instance> the writing process's random
// instance id (random_instance_id). The node id alone does not make ids unique: two
// processes started with the same --node-id compute the same epoch and would write the same
// ids, and JetStream checks a MsgId before ExpectLastSeq/ExpectLastMsgId, so the loser's
// takeover would come back as a "duplicate" at exactly the sequence it expected instead of
// being fenced. With the instance in it, a duplicate can only be the process's own retry.
// The GENESIS MsgId ("<cluster>.<shard>.genesis", nats_stream.cc) has no writer on purpose:
// two nodes creating a stream must dedupe. Streams written before instance ids hold ids
// "<cluster>.<shard>.<epoch>.<node>.<n>"; nothing parses ids (readers decode the frames, a
// writer only compares ids it made itself), so such streams read and chain on as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stampede::repl {

inline constexpr size_t frame_header_size = 4 + 1 + 1 + 2 + 8 + 8 + 4;
static_assert(frame_header_size == 28);
inline constexpr uint8_t frame_version = 1;
// A JetStream message may hold 1 MiB (the stream's MaxMsgSize, the server's max_payload),
// headers included; a frame leaves room for them.
inline constexpr size_t stream_message_bytes_max = 1024 * 1024;
inline constexpr size_t frame_bytes_max = stream_message_bytes_max - 4 * 1024;
inline constexpr size_t node_id_length_max = 64;
inline constexpr size_t url_length_max = 2048;
inline constexpr size_t cluster_name_length_max = 32;

// Pinned numbers: they are on disk in every stream.
enum class frame_kind : uint8_t {
  genesis = 1,
  batch = 2,
  heartbeat = 3,
  takeover = 4,
};

// A frame as read back; `body` views the bytes it was decoded from.
struct frame {
  frame_kind kind = frame_kind::batch;
  uint64_t epoch = 0;
  uint64_t last_lsn = 0;
  std::string_view node_id;
  std::string_view body;
};

// What writes a frame: the writer's identity and position.
struct frame_writer {
  uint64_t epoch = 0;
  std::string_view node_id;
  // The writing process's random_instance_id(). In MsgIds only, not in the frame's bytes.
  // Empty only in tests and benchmarks: msg_id() then gives the form before instance ids.
  std::string_view instance;
};

std::string encode_frame(frame_kind kind, const frame_writer& writer, uint64_t last_lsn,
                         std::string_view body);
// nullopt when the bytes are not one whole frame of a known version and kind whose CRC
// matches (the body of a BATCH is checked record by record by its reader).
std::optional<frame> decode_frame(std::string_view bytes);

// GENESIS of shard `shard` of `shards` in cluster `cluster`.
std::string genesis_frame(std::string_view cluster, uint32_t shard, uint32_t shards);
struct genesis_info {
  uint32_t shard = 0;
  uint32_t shards = 0;
  std::string_view cluster;
};
std::optional<genesis_info> decode_genesis(const frame& f);

std::string msg_id(std::string_view cluster, uint32_t shard, const frame_writer& writer,
                   uint64_t n);
// A fresh process instance id: 64 random bits from getrandom(2), as 16 lowercase hex
// digits. "" when the kernel gives no randomness (then the process must not write).
inline constexpr size_t instance_id_length = 16;
std::string random_instance_id();

// Is `name` usable as a cluster name ([A-Za-z0-9_-], 1..cluster_name_length_max)? It
// becomes part of stream names and subjects.
bool valid_cluster_name(std::string_view name);
// Is `id` usable as a node id ([A-Za-z0-9_-], 1..node_id_length_max)? It is part of MsgIds.
bool valid_node_id(std::string_view id);

}  // namespace stampede::repl
