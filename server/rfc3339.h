// RFC 3339 timestamps as API.md writes them ("2026-11-22T10:00:00.000Z", UTC, milliseconds)
// and reads them (any offset, optional fraction). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stampede::http {

std::string format_rfc3339_ms(int64_t unix_ms);
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace stampede::http
