#include "server/handler.h"

#include <charconv>

#include "server/json_text.h"

namespace stampede::http {

response json_response(unsigned status, const json::value& v) {
  response r;
  r.status = status;
  r.body = to_json_text(v);
  return r;
}

response json_text_response(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response no_content() {
  response r;
  r.status = 204;
  return r;
}

std::optional<paging> read_paging(const request& req) {
  paging p;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() ||
        n < limits::page_limit_min || n > limits::page_limit_max)
      return std::nullopt;
    p.limit = n;
  }
  if (auto it = req.query.find("cursor"); it != req.query.end()) p.cursor = it->second;
  return p;
}

error bad_limit() {
  return field_error("limit", "limit must be an integer " + std::to_string(limits::page_limit_min) +
                                  ".." + std::to_string(limits::page_limit_max));
}

error bad_field(const reader& rd,
                std::initializer_list<std::pair<std::string_view, std::string_view>> rules) {
  for (const auto& [field, rule] : rules)
    if (rd.bad == field) return field_error(rd.bad, std::string(rule));
  return bad_field(rd);
}

error bad_field(const reader& rd) {
  if (rd.bad == "price")
    return field_error(rd.bad, "price must be an integer 0.." + std::to_string(limits::price_minor_max) +
                                   " (minor units)");
  return field_error(rd.bad, rd.why);
}

}  // namespace stampede::http
