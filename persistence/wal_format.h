// The write-ahead log's record format, and the binary encoding of every effect.
//
// A shard's log is one file, `<data-dir>/wal-<shard>.log`, a sequence of records:
//
//   offset  size  field
//   0       4     payload_length   u32 LE, bytes of payload (<= record_payload_max)
//   4       4     crc              u32 LE, CRC32C (Castagnoli) of bytes [8, 18 + length)
//   8       2     type             u16 LE, the effect's type (effect_type below)
//   10      8     sequence         u64 LE, 1, 2, 3, ... within the file, no gaps
//   18      n     payload          the effect's fields, as encoded below
//
// Payload fields are explicitly sized and little-endian: integers as u8/u32/i64/u64,
// strings as u32 length + bytes, optionals as u8 present + value, lists as u32 count +
// items. The effect is logged as its result (absolute values and ids), so that replaying
// the log applies exactly the same changes (Redis' rule: log effects, not intentions).
//
// Reading (wal_reader.h): a record cut short or failing its CRC at the end of the file is a
// torn write, and the file is truncated there. A bad record followed by a valid one is
// corruption: the reader refuses it, naming the file and offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/effect.h"

namespace stampede::wal {

inline constexpr size_t header_size = 4 + 4 + 2 + 8;
static_assert(header_size == 18);
inline constexpr uint32_t record_payload_max = 16 * 1024 * 1024;

// The effect's index in the `effect` variant, plus one (0 is never written).
enum class effect_type : uint16_t {
  product_created = 1,
  product_patched,
  on_hand_set,
  product_deactivated,
  shipping_methods_replaced,
  cart_replaced,
  address_added,
  address_deleted,
  order_placed,
  order_updated,
  notification_added,
  idempotency_stored,
  product_restored,  // snapshots only
  webhooks_replaced,
  webhook_event_queued,
  webhook_event_done,
  // Drops (core/drop_effects.h): their range is 32..47; until the numbers are pinned they
  // follow the variant: drop_created 17 (meant 32), drop_status_set 18 (33),
  // drop_ticket_set 19 (34), drop_ticket_removed 20 (35), drop_entry_set 21 (36),
  // waitlist_entry_set 22 (37), waitlist_entry_removed 23 (38).
  drop_created,
  drop_status_set,
  drop_ticket_set,
  drop_ticket_removed,
  drop_entry_set,
  waitlist_entry_set,
  waitlist_entry_removed,
};
inline constexpr uint16_t effect_type_max = 23;

uint32_t crc32c(std::string_view bytes);
// The portable (table) implementation, for checking the hardware one.
uint32_t crc32c_reference(std::string_view bytes);

// A record's header, as read back.
struct record_header {
  uint32_t length;
  uint32_t crc;
  uint16_t type;
  uint64_t sequence;
};
// Is there a whole record at `at` whose CRC matches? (Type and sequence are the caller's
// to check.) The payload is data.substr(at + header_size, length).
std::optional<record_header> record_at(std::string_view data, size_t at);

// Appends one whole record (header and payload) for `e` with `sequence` to `out`.
void append_record(std::string& out, uint64_t sequence, const effect& e);

// Decodes a payload of the given type; nullopt when it does not decode whole.
std::optional<effect> decode_effect(uint16_t type, std::string_view payload);

inline uint32_t load_u32(const char* p) {
  return static_cast<uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[3])) << 24;
}
inline uint64_t load_u64(const char* p) {
  return static_cast<uint64_t>(load_u32(p)) | static_cast<uint64_t>(load_u32(p + 4)) << 32;
}

}  // namespace stampede::wal
