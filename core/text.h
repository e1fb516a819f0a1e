#pragma once
// Rules for text that people type and that is shown again (names, addresses, tracking
// numbers): no control characters, which would break a line of an email, a label or a log,
// and not blank where a value is required. Bytes, on text already checked to be UTF-8 (by
// the JSON parser): every control character of ASCII is one byte there.
#include <algorithm>
#include <string_view>

namespace stampede::text {

inline bool is_control(unsigned char ch) { return ch < 0x20 || ch == 0x7f; }

// A control character anywhere; with `lines`, tabs and line ends are allowed (a description).
inline bool has_control(std::string_view s, bool lines = false) {
  return std::any_of(s.begin(), s.end(), [lines](char c) {
    auto ch = static_cast<unsigned char>(c);
    if (lines && (ch == '\t' || ch == '\n' || ch == '\r')) return false;
    return is_control(ch);
  });
}

// Empty, or spaces only.
inline bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' '; });
}

}  // namespace stampede::text
