// Countries as ISO 3166-1 alpha-2 codes (API.md: an address's `country`): whether a code is
// one of the 249 assigned. Pure function: any thread.
#pragma once

#include <string_view>

namespace stampede {

// "US" yes, "us", "XX", "UK" (reserved, not assigned) no.
bool is_country_code(std::string_view code);

}  // namespace stampede
