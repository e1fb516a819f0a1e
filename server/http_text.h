// The small text rules of HTTP that the routes and sessions share, each written once:
// request targets (percent-decoding, path segments, query parameters), ASCII
// case-insensitive comparison, the bearer credential of an Authorization header, and the
// JSON media type. Pure functions: any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/request.h"

namespace stampede::http {

// The origin form of a request target: "http://host:80/p?q" -> "/p?q" (RFC 9112 section
// 3.2.2: a server must accept the absolute form); other targets are returned as they are.
std::string_view origin_form(std::string_view target);
// Splits a request target into a decoded path and query parameters; a malformed escape
// leaves out.query_ok false.
void parse_target(std::string_view target, request& out);
// Percent-decoding; '+' is a space only in query strings. nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// "/a/b/" -> {"a", "b", ""}: the segments after the leading slash.
std::vector<std::string_view> split_path(std::string_view path);

// ASCII case-insensitive equality (header names, schemes, media types: RFC 9110 §5.1, §11.1).
bool ascii_iequals(std::string_view a, std::string_view b);
// The credential of "Bearer <token>" (scheme case-insensitive), or nullopt for any other
// or an empty one.
std::optional<std::string_view> bearer_token(std::string_view authorization);
// "application/json", any case, with or without parameters ("; charset=utf-8").
bool is_json_media_type(std::string_view content_type);

}  // namespace stampede::http
