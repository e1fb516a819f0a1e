// JSON text with numbers as people write them. Boost.JSON writes every double in exponent
// form (0.2 as 2E-1, 0 as 0E0): valid JSON, but not what API.md shows or a person reading a
// stats message expects. This writes a double in its shortest decimal form that reads back
// to the same value (std::to_chars), and what holds no double exactly as Boost.JSON does.
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace stampede::http {

std::string to_json_text(const boost::json::value& v);

}  // namespace stampede::http
