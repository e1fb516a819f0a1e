// A streaming JSON writer for the hottest answers (the cart after add-to-cart): it appends
// straight to the response body, where building a DOM first cost allocations and key
// checks. Strings are escaped per RFC 8259; they are valid UTF-8 already (they came in
// through the JSON parser or are ours). Not thread-safe; one per answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stampede::http {

class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }
  json_writer& key(std::string_view k) {
    comma();
    quoted(k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view s) {
    comma();
    quoted(s);
    return *this;
  }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(int64_t n) {
    comma();
    out_.append(std::to_string(n));
    return *this;
  }
  json_writer& value(bool b) {
    comma();
    out_.append(b ? "true" : "false");
    return *this;
  }
  json_writer& null() {
    comma();
    out_.append("null");
    return *this;
  }

 private:
  json_writer& open(char c) {
    comma();
    out_.push_back(c);
    first_ = true;
    return *this;
  }
  json_writer& close(char c) {
    out_.push_back(c);
    first_ = false;
    return *this;
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_.push_back(',');
    }
    first_ = false;
  }
  void quoted(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out_.push_back('"');
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out_.push_back('\\');
        out_.push_back(c);
      } else if (u < 0x20) {
        out_.append("\\u00");
        out_.push_back(hex[u >> 4]);
        out_.push_back(hex[u & 15]);
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace stampede::http
