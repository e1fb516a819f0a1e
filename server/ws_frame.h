// RFC 6455 framing for the server's side of GET /v1/ws once the upgrade is answered: the
// frames the server sends (unmasked, never fragmented), encoded once and shared by every
// connection they go to, and an incremental reader of what a client sends (masked frames,
// fragmented messages reassembled, control frames, the message size bound, UTF-8 text).
// No sockets and no clock: pure functions and a reader object per connection; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stampede::http::ws {

enum class opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// The close codes the server sends (RFC 6455 7.4.1).
enum class close_code : uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  bad_payload = 1007,  // text that is not UTF-8
  too_big = 1009,
};

inline constexpr size_t control_payload_bytes_max = 125;  // RFC 6455 5.5
inline constexpr size_t frame_header_bytes_max = 14;      // 2 + 8 (length) + 4 (mask)
inline constexpr size_t length16_min = 126;               // shorter lengths fit the first 7 bits
inline constexpr size_t length64_min = 0x10000;           // shorter lengths fit 16 bits
static_assert(frame_header_bytes_max == 2 + 8 + 4);

// One server frame, header and payload, as it goes on the wire. `key` names what state the
// message is of ("p:<product>", "o:<order>"): a newer frame with the same key replaces an
// unsent older one. "" for messages that never replace one another.
struct frame {
  std::string wire;
  std::string key;
  // An answer to the client's own message (a pong, an error, a subscription's snapshot):
  // never pushed out of a full queue by a push (ws_session::deliver).
  bool reply = false;

  bool is_control() const { return !wire.empty() && (wire[0] & 0x08) != 0; }
  bool is(opcode op) const { return !wire.empty() && (wire[0] & 0x0F) == static_cast<char>(op); }
};

// One unmasked frame with FIN set. Control payloads must be at most 125 bytes.
std::string encode(opcode op, std::string_view payload);
// A close frame's payload: the code, big-endian, then the reason (the caller keeps the two
// within 125 bytes).
std::string close_payload(close_code code, std::string_view reason);
// RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s);

// What the reader found at the front of its input.
struct event {
  enum class kind {
    need_more,  // no whole event yet: call again with more bytes
    message,    // a whole data message (`text`, `payload`)
    ping,       // `payload`
    pong,
    close,      // the client's close: `code` (0 when it gave none) and `payload` (the reason)
    fail,       // a protocol error: close the connection with `code`; `payload` says why
  };
  kind what = kind::need_more;
  bool text = false;
  std::string_view payload;  // valid until the next call to next()
  uint16_t code = 0;
};

// Reads a client's frames (RFC 6455 5.2-5.5). After a `fail` the connection must close:
// the reader answers `fail` to every later call.
class frame_reader {
 public:
  explicit frame_reader(size_t message_bytes_max) : message_bytes_max_(message_bytes_max) {}

  // Consumes whole frames from the front of `in` (advancing it past them) until it has an
  // event; fragments of a message are consumed and kept. `need_more` leaves the unfinished
  // frame in `in`: call again with it and what followed it. A frame whose header shows it
  // would break a bound fails at once, before its payload arrives, so what a caller keeps
  // of an unfinished frame is at most frame_header_bytes_max + message_bytes_max bytes.
  event next(std::string_view& in);
  // Bytes held for a fragmented message (for memory accounting and tests).
  size_t held_bytes() const { return message_.size(); }

 private:
  event fail(close_code code, std::string_view why);
  event control(opcode op, std::string_view payload);

  const size_t message_bytes_max_;
  std::string message_;                 // unmasked data of the message in progress
  std::optional<opcode> message_op_;    // text or binary while its fragments arrive
  bool message_done_ = false;           // message_ was handed out: clear it on the next call
  bool failed_ = false;
  std::array<char, control_payload_bytes_max> control_{};  // an unmasked control payload
};

}  // namespace stampede::http::ws
