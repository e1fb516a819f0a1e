#include "server/json_text.h"

#include <charconv>
#include <cmath>
#include <utility>

#include <boost/json/serialize.hpp>

namespace stampede::http {

namespace json = boost::json;

namespace {

bool holds_a_double(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return true;
    case json::kind::array:
      for (const auto& x : v.get_array())
        if (holds_a_double(x)) return true;
      return false;
    case json::kind::object:
      for (const auto& [k, x] : v.get_object())
        if (holds_a_double(x)) return true;
      return false;
    default: return false;
  }
}

void write_double(double d, std::string& out) {
  if (!std::isfinite(d)) {  // JSON has no NaN or infinity (Boost.JSON writes them as null too)
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, ec == std::errc() ? end : buf);
}

void write(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::double_:
      write_double(v.get_double(), out);
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!std::exchange(first, false)) out += ',';
        write(x, out);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.get_object()) {
        if (!std::exchange(first, false)) out += ',';
        out += json::serialize(json::string_view(k));
        out += ':';
        write(x, out);
      }
      out += '}';
      return;
    }
    default:
      out += json::serialize(v);  // strings, integers, booleans, null
  }
}

}  // namespace

std::string to_json_text(const json::value& v) {
  if (!holds_a_double(v)) return json::serialize(v);
  std::string out;
  write(v, out);
  return out;
}

}  // namespace stampede::http
