// The bytes of one order email (RFC 5322 headers, RFC 2047 encoded-words for UTF-8 text,
// MIME multipart/alternative with a text/plain and a text/html part, quoted-printable), and
// the address checks every email field passes first. Nothing a user typed reaches a header
// raw: addresses are validated, text is stripped of control characters and encoded.
// Pure functions: any thread (the mailer thread builds each message just before sending).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/errors.h"

namespace stampede::email {

inline constexpr size_t address_length_max = 254;   // RFC 5321's path limit, less the brackets
inline constexpr size_t local_part_length_max = 64;  // RFC 5321 §4.5.3.1.1
inline constexpr size_t domain_label_length_max = 63;
inline constexpr size_t display_name_length_max = 200;
inline constexpr size_t encoded_word_bytes_max = 45;  // 60 base64 chars: a word stays <= 75
inline constexpr size_t header_line_length_max = 78;  // RFC 5322 §2.1.1's "SHOULD"
inline constexpr size_t qp_line_length_max = 76;      // RFC 2045 §6.7 (5)

// A valid email address as the HTML standard's <input type=email> defines it (what a
// storefront's form lets through), with RFC 5322's dot-atom rule on the local part (no
// leading, trailing or doubled dots) and RFC 5321's lengths. No quoted local parts, no IP
// literals, and so never a space, quote, angle bracket, CR or LF.
bool valid_address(std::string_view address);

// "Shop <orders@example.com>" or a bare "orders@example.com".
struct mailbox {
  std::string display_name;  // UTF-8, may be empty
  std::string address;       // valid_address()
};
result<mailbox> parse_mailbox(std::string_view text);
// The domain of a valid address ("example.com").
std::string_view address_domain(std::string_view address);

// Header text made safe: control characters (CR and LF among them) become spaces, then
// plain ASCII is folded at spaces, and anything else (or text that could be read as an
// encoded-word) is written as RFC 2047 "=?UTF-8?B?...?=" words, folded between words.
// `name_length` is the length of "Subject: " already on the first line.
std::string encode_header_text(std::string_view utf8, size_t name_length);
// A mailbox as a From or To header value: `"Name" <addr>`, the name encoded if need be.
std::string format_mailbox(const mailbox& m);
// Quoted-printable (RFC 2045 §6.7) of UTF-8 text; line breaks become CRLF.
std::string quoted_printable(std::string_view text);
// RFC 5322 date-time in UTC: "Sun, 22 Nov 2026 10:00:00 +0000".
std::string format_date(int64_t unix_ms);

struct message_fields {
  mailbox from;
  std::string to;         // a valid address
  std::string subject;    // UTF-8, anything
  std::string text;       // the text/plain part
  std::string html;       // the text/html part
  std::string event_id;   // one per event: the Message-ID and the MIME boundary come from it
  std::string thread_id;  // the order id: References, so one order's mails thread together
  int64_t date_ms = 0;    // the event's time, so a retry is the same message byte for byte
};

// "<evt_123@example.com>": the same for every attempt at one event.
std::string message_id(std::string_view event_id, std::string_view domain);

// The whole message with CRLF line ends, ready for SMTP DATA. invalid_request when the
// recipient or sender is not a valid address, or the event or thread id holds characters
// a Message-ID may not.
result<std::string> build_message(const message_fields& m);

}  // namespace stampede::email
