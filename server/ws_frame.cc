#include "server/ws_frame.h"

namespace stampede::http::ws {

namespace {

// RFC 6455 5.2: the first two bytes of a frame.
constexpr uint8_t fin_bit = 0x80;
constexpr uint8_t reserved_bits = 0x70;
constexpr uint8_t opcode_bits = 0x0F;
constexpr uint8_t control_bit = 0x08;
constexpr uint8_t mask_bit = 0x80;
constexpr uint8_t length7_bits = 0x7F;
constexpr uint8_t length7_means_16 = 126;
constexpr uint8_t length7_means_64 = 127;
constexpr size_t mask_bytes = 4;
// A fragmented message's buffer is let go past this, so one big message does not pin memory.
constexpr size_t message_keep_bytes = 256;

bool known(uint8_t op) {
  switch (static_cast<opcode>(op)) {
    case opcode::continuation:
    case opcode::text:
    case opcode::binary:
    case opcode::close:
    case opcode::ping:
    case opcode::pong:
      return true;
  }
  return false;
}

// RFC 6455 7.4 and IANA's registry: what a client may send in a close frame (1004-1006 and
// 1015 are never sent; 1016-2999 are reserved; 3000-4999 belong to applications).
bool valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

void unmask(const char* data, size_t length, const char* mask, char* out) {
  for (size_t i = 0; i < length; ++i) out[i] = static_cast<char>(data[i] ^ mask[i % mask_bytes]);
}

uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

}  // namespace

std::string encode(opcode op, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + frame_header_bytes_max);
  out.push_back(static_cast<char>(fin_bit | static_cast<uint8_t>(op)));
  const uint64_t n = payload.size();
  if (n < length16_min) {
    out.push_back(static_cast<char>(n));
  } else if (n < length64_min) {
    out.push_back(static_cast<char>(length7_means_16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(length7_means_64));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  out.append(payload);
  return out;
}

std::string close_payload(close_code code, std::string_view reason) {
  const auto c = static_cast<uint16_t>(code);
  std::string out{static_cast<char>(c >> 8), static_cast<char>(c & 0xFF)};
  out.append(reason);
  return out;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = byte_at(s, i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t cp, least;
    if ((c & 0xE0) == 0xC0) {
      length = 2, cp = c & 0x1F, least = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, cp = c & 0x0F, least = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, cp = c & 0x07, least = 0x10000;
    } else {
      return false;  // a continuation byte first, or 0xF8 and up
    }
    if (s.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const uint8_t b = byte_at(s, i + k);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

event frame_reader::fail(close_code code, std::string_view why) {
  failed_ = true;
  return event{event::kind::fail, false, why, static_cast<uint16_t>(code)};
}

event frame_reader::control(opcode op, std::string_view payload) {
  if (op == opcode::ping) return event{event::kind::ping, false, payload, 0};
  if (op == opcode::pong) return event{event::kind::pong, false, payload, 0};
  if (payload.empty()) return event{event::kind::close, false, {}, 0};
  if (payload.size() == 1) return fail(close_code::protocol_error, "a close frame's code is 2 bytes");
  const auto code = static_cast<uint16_t>((byte_at(payload, 0) << 8) | byte_at(payload, 1));
  if (!valid_close_code(code)) return fail(close_code::protocol_error, "not a close code a client may send");
  std::string_view reason = payload.substr(2);
  if (!valid_utf8(reason)) return fail(close_code::bad_payload, "a close reason that is not UTF-8");
  return event{event::kind::close, false, reason, code};
}

event frame_reader::next(std::string_view& in) {
  if (failed_) return event{event::kind::fail, false, "the connection failed earlier",
                            static_cast<uint16_t>(close_code::protocol_error)};
  if (message_done_) {
    message_done_ = false;
    if (message_.capacity() > message_keep_bytes) message_ = std::string();
    message_.clear();
  }
  for (;;) {
    if (in.size() < 2) return {};
    const uint8_t b0 = byte_at(in, 0), b1 = byte_at(in, 1);
    const bool fin = (b0 & fin_bit) != 0, is_control = (b0 & control_bit) != 0;
    const size_t length7 = b1 & length7_bits;
    // What the first two bytes break fails now, before the rest of the frame arrives.
    if (b0 & reserved_bits) return fail(close_code::protocol_error, "reserved bits set (no extension was agreed)");
    if (!known(b0 & opcode_bits)) return fail(close_code::protocol_error, "a reserved opcode");
    const auto op = static_cast<opcode>(b0 & opcode_bits);
    if (!(b1 & mask_bit)) return fail(close_code::protocol_error, "a client's frames must be masked");
    if (is_control && !fin) return fail(close_code::protocol_error, "a fragmented control frame");
    if (is_control && length7 > control_payload_bytes_max)
      return fail(close_code::protocol_error, "a control frame over 125 bytes");
    if (op == opcode::continuation && !message_op_)
      return fail(close_code::protocol_error, "a continuation frame with no message to continue");
    if ((op == opcode::text || op == opcode::binary) && message_op_)
      return fail(close_code::protocol_error, "a new message before the last one ended");

    const size_t length_bytes = length7 == length7_means_64 ? 8 : length7 == length7_means_16 ? 2 : 0;
    const size_t header = 2 + length_bytes + mask_bytes;
    if (in.size() < header) return {};
    uint64_t length = length7;
    if (length_bytes > 0) {
      length = 0;
      for (size_t i = 0; i < length_bytes; ++i) length = (length << 8) | byte_at(in, 2 + i);
      if ((length >> 63) != 0) return fail(close_code::protocol_error, "a 64-bit length with its top bit set");
      if (length < (length_bytes == 2 ? length16_min : length64_min))
        return fail(close_code::protocol_error, "a length not in its shortest form");
    }
    if (!is_control && length > message_bytes_max_ - message_.size())
      return fail(close_code::too_big, "a message over the size limit");
    if (in.size() - header < length) return {};

    const char* mask = in.data() + 2 + length_bytes;
    const char* data = in.data() + header;
    in.remove_prefix(header + length);
    if (is_control) {
      unmask(data, length, mask, control_.data());
      return control(op, std::string_view(control_.data(), length));
    }
    const size_t at = message_.size();
    message_.resize(at + length);
    unmask(data, length, mask, message_.data() + at);
    if (op != opcode::continuation) message_op_ = op;
    if (!fin) continue;
    const bool text = *message_op_ == opcode::text;
    message_op_.reset();
    if (text && !valid_utf8(message_)) return fail(close_code::bad_payload, "text that is not UTF-8");
    message_done_ = true;
    return event{event::kind::message, text, message_, 0};
  }
}

}  // namespace stampede::http::ws
