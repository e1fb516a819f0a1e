// The write-ahead log's record format, and the binary encoding of every effect.
//
// A shard's log is a sequence of segment files, `<data-dir>/wal-<shard>-<first sequence>.log`
// (files.h), each a sequence of records:
//
//   offset  size  field
//   0       4     payload_length   u32 LE, bytes of payload (<= record_payload_max)
//   4       4     crc              u32 LE, CRC32C (Castagnoli) of bytes [8, 18 + length)
//   8       2     type             u16 LE, the effect's type (effect_type below, pinned)
//   10      8     sequence         u64 LE, 1, 2, 3, ... within the file, no gaps
//   18      n     payload          the effect's fields, as encoded below
//
// Payload fields are explicitly sized and little-endian: integers as u8/u32/i64/u64,
// strings as u32 length + bytes, optionals as u8 present + value, lists as u32 count +
// items. The effect is logged as its result (absolute values and ids), so that replaying
// the log applies exactly the same changes (Redis' rule: log effects, not intentions).
//
// Writing refuses a payload over record_payload_max (the reader would take it for a torn or
// corrupt record); the shard then refuses the change before acknowledging anything.
// Reading (wal_reader.h): a record cut short or failing its CRC at the end of the file is a
// torn write, and the file is truncated there. Zeros after the last record are the writer's
// (it zeroes a segment ahead of its records, wal_writer.cc): the end of the records, not a
// torn write. A bad record followed by a valid one is corruption: the reader refuses it,
// naming the file and offset; unless the bad stretch has the mark of a block the last,
// unsynced write never reached (zeros to a sector's end; wal_reader.cc), whose later records
// were never acknowledged: a torn write too.
//
// Compatibility: a type number, once written, names that effect forever; a new effect takes
// the next number; persisted enums and variants keep their values and order (static_asserts
// in wal_format.cc). tests/persistence/data/ holds a log written with the first format;
// WalGoldenLog checks that it still decodes and replays to the same store.
//
// Thread-safety: pure functions; any thread.
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

// The type number of each effect, as written (0 is never written). Pinned: never renumber.
enum class effect_type : uint16_t {
  product_created = 1,
  product_patched = 2,
  on_hand_set = 3,
  product_deactivated = 4,
  shipping_methods_replaced = 5,
  cart_replaced = 6,
  address_added = 7,
  address_deleted = 8,
  order_placed = 9,
  order_updated = 10,
  notification_added = 11,
  idempotency_stored = 12,
  product_restored = 13,  // snapshots only
  webhooks_replaced = 14,
  webhook_event_queued = 15,
  webhook_event_done = 16,
  idempotency_kept = 17,
  // 32..47: drops (core/drop_effects.h, core/drop_extras.h)
  drop_created = 32,
  drop_status_set = 33,
  drop_ticket_set = 34,
  drop_ticket_removed = 35,
  drop_entry_set = 36,
  waitlist_entry_set = 37,
  waitlist_entry_removed = 38,
  product_limits_set = 39,  // a product's limits across accounts
  card_fingerprint_set = 40,  // the card fingerprint of an order's payment
  drop_notice_added = 41,  // a notification that names a drop or product
  // 56..63: replication
  email_queued = 48,  // order email (core/email_outbox.h)
  email_done = 49,
};
inline constexpr uint16_t effect_type_max = 49;  // the largest number given so far

// The type number an effect is written with.
effect_type type_of(const effect& e);

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

// Appends one whole record (header and payload) for `e` with `sequence` to `out`; false,
// with `out` as it was, when the payload would be over record_payload_max.
[[nodiscard]] bool append_record(std::string& out, uint64_t sequence, const effect& e);

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
