// A reader of the messages the email tests make or receive: written for the tests,
// independently of the builder, so that a builder bug is not mirrored by its own decoder.
// Header values are unfolded and their RFC 2047 words decoded; parts are split at the
// boundary and their quoted-printable decoded. Test-only; any thread.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"

namespace stampede::email {

inline bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

inline bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

// The lines of CRLF text, without their CRLF.
inline std::vector<std::string> header_lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

// Every line ends in CRLF, and no CR or LF stands alone.
inline bool crlf_only(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) return false;
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return false;
  }
  return true;
}

// The base64 text of each "=?UTF-8?B?...?=" word.
inline std::vector<std::string> encoded_word_payloads(std::string_view value) {
  std::vector<std::string> out;
  for (size_t at = value.find("=?UTF-8?B?"); at != std::string_view::npos;
       at = value.find("=?UTF-8?B?", at + 1)) {
    size_t start = at + 10, end = value.find("?=", start);
    if (end == std::string_view::npos) break;
    out.emplace_back(value.substr(start, end - start));
  }
  return out;
}

// True when the bytes hold only whole UTF-8 sequences.
inline bool whole_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > bytes.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

// Unfolds a header value and decodes its encoded-words (the space between two adjacent
// words is dropped, RFC 2047 §6.2).
inline std::string decode_header_value(std::string_view value) {
  std::string unfolded;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.substr(i, 2) == "\r\n") {
      ++i;
      continue;
    }
    unfolded += value[i];
  }
  std::string out;
  size_t pos = 0;
  bool last_was_word = false;
  while (pos < unfolded.size()) {
    size_t at = unfolded.find("=?UTF-8?B?", pos);
    std::string_view between(unfolded.data() + pos, (at == std::string::npos ? unfolded.size() : at) - pos);
    if (!(last_was_word && at != std::string::npos && blank(between)))
      out += between;
    if (at == std::string::npos) break;
    size_t end = unfolded.find("?=", at + 10);
    std::string bytes;
    absl::Base64Unescape(unfolded.substr(at + 10, end - at - 10), &bytes);
    out += bytes;
    pos = end + 2;
    last_was_word = true;
  }
  return out;
}

inline std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
    } else if (text.substr(i + 1, 2) == "\r\n") {
      i += 2;  // a soft line break
    } else {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

struct parsed_part {
  std::string type;
  std::string body;  // decoded
};

struct parsed_message {
  std::vector<std::pair<std::string, std::string>> headers;  // name, raw (folded) value
  std::vector<parsed_part> parts;
  // The decoded value of the first header of that name, "" when there is none.
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (same_name(n, name)) return decode_header_value(v);
    return "";
  }
  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& h : headers) n += same_name(h.first, name);
    return n;
  }
};

inline void parse_headers(std::string_view head, std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& line : header_lines(head)) {
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().second += "\r\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out.emplace_back(line.substr(0, colon), line.substr(line.find_first_not_of(' ', colon + 1) == std::string::npos ? line.size() : line.find_first_not_of(' ', colon + 1)));
  }
}

inline parsed_message parse_message(std::string_view raw) {
  parsed_message m;
  size_t split = raw.find("\r\n\r\n");
  parse_headers(raw.substr(0, split + 2), m.headers);
  std::string type = m.header("Content-Type");
  size_t b = type.find("boundary=\"");
  if (b == std::string::npos || split == std::string_view::npos) return m;
  std::string boundary = "--" + type.substr(b + 10, type.find('"', b + 10) - b - 10);
  std::string_view body = raw.substr(split + 4);
  for (size_t at = body.find(boundary); at != std::string_view::npos;) {
    size_t start = at + boundary.size();
    if (body.substr(start, 2) == "--") break;
    size_t next = body.find("\r\n" + boundary, start);
    std::string_view part = body.substr(start + 2, next - start - 2 + 2);  // keep its last CRLF
    size_t part_split = part.find("\r\n\r\n");
    std::vector<std::pair<std::string, std::string>> headers;
    parse_headers(part.substr(0, part_split + 2), headers);
    parsed_part p;
    for (const auto& [n, v] : headers)
      if (same_name(n, "Content-Type")) p.type = v;
    p.body = decode_quoted_printable(part.substr(part_split + 4));
    m.parts.push_back(std::move(p));
    at = next == std::string_view::npos ? next : next + 2;
  }
  return m;
}

}  // namespace stampede::email
