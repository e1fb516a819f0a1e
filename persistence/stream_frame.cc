#include "persistence/stream_frame.h"

#include <sys/random.h>

#include <cerrno>

#include "persistence/wal_format.h"

namespace stampede::repl {

namespace {

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>(v >> 8));
}
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint16_t load_u16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[1])
                                                                      << 8);
}
void store_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// The bytes the frame's CRC covers: the header after the CRC, the node id, and the body
// unless it is a BATCH's (whose records carry their own).
uint32_t frame_crc(std::string_view bytes, frame_kind kind, size_t body_at) {
  std::string_view covered =
      kind == frame_kind::batch ? bytes.substr(4, body_at - 4) : bytes.substr(4);
  return wal::crc32c(covered);
}

bool valid_name(std::string_view name, size_t length_max) {
  if (name.empty() || name.size() > length_max) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string encode_frame(frame_kind kind, const frame_writer& writer, uint64_t last_lsn,
                         std::string_view body) {
  std::string out;
  out.reserve(frame_header_size + writer.node_id.size() + body.size());
  put_u32(out, 0);  // the CRC, once the rest is there
  out.push_back(static_cast<char>(frame_version));
  out.push_back(static_cast<char>(kind));
  put_u16(out, static_cast<uint16_t>(writer.node_id.size()));
  put_u64(out, writer.epoch);
  put_u64(out, last_lsn);
  put_u32(out, static_cast<uint32_t>(body.size()));
  out.append(writer.node_id);
  size_t body_at = out.size();
  out.append(body);
  store_u32(out.data(), frame_crc(out, kind, body_at));
  return out;
}

std::optional<frame> decode_frame(std::string_view bytes) {
  if (bytes.size() < frame_header_size) return std::nullopt;
  const char* p = bytes.data();
  if (static_cast<uint8_t>(p[4]) != frame_version) return std::nullopt;
  auto kind = static_cast<uint8_t>(p[5]);
  if (kind < static_cast<uint8_t>(frame_kind::genesis) ||
      kind > static_cast<uint8_t>(frame_kind::takeover))
    return std::nullopt;
  size_t node_length = load_u16(p + 6);
  size_t body_length = wal::load_u32(p + 24);
  if (node_length > node_id_length_max ||
      bytes.size() != frame_header_size + node_length + body_length)
    return std::nullopt;
  frame f;
  f.kind = static_cast<frame_kind>(kind);
  size_t body_at = frame_header_size + node_length;
  if (wal::load_u32(p) != frame_crc(bytes, f.kind, body_at)) return std::nullopt;
  f.epoch = wal::load_u64(p + 8);
  f.last_lsn = wal::load_u64(p + 16);
  f.node_id = bytes.substr(frame_header_size, node_length);
  f.body = bytes.substr(body_at);
  if ((f.kind == frame_kind::genesis) != f.node_id.empty()) return std::nullopt;
  return f;
}

std::string genesis_frame(std::string_view cluster, uint32_t shard, uint32_t shards) {
  std::string body;
  put_u32(body, shard);
  put_u32(body, shards);
  body.append(cluster);
  return encode_frame(frame_kind::genesis, frame_writer{0, ""}, 0, body);
}

std::optional<genesis_info> decode_genesis(const frame& f) {
  if (f.kind != frame_kind::genesis || f.body.size() < 8) return std::nullopt;
  genesis_info g;
  g.shard = wal::load_u32(f.body.data());
  g.shards = wal::load_u32(f.body.data() + 4);
  g.cluster = f.body.substr(8);
  return g;
}

std::string msg_id(std::string_view cluster, uint32_t shard, const frame_writer& writer,
                   uint64_t n) {
  std::string id;
  id.reserve(cluster.size() + writer.node_id.size() + writer.instance.size() + 48);
  id.append(cluster).append(".").append(std::to_string(shard)).append(".");
  id.append(std::to_string(writer.epoch)).append(".").append(writer.node_id).append(".");
  if (!writer.instance.empty()) id.append(writer.instance).append(".");
  id.append(std::to_string(n));
  return id;
}

std::string random_instance_id() {
  unsigned char bytes[instance_id_length / 2];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    got += static_cast<size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xF]);
  }
  return out;
}

bool valid_cluster_name(std::string_view name) { return valid_name(name, cluster_name_length_max); }
bool valid_node_id(std::string_view id) { return valid_name(id, node_id_length_max); }

}  // namespace stampede::repl
