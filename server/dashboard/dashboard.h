// The live sale page (GET /dashboard): server/dashboard/dashboard.html, built into the
// binary at build time (server/cmake/embed.cmake), so the server needs no file at run time
// and the page needs nothing from outside the server. Immutable bytes: any thread.
#pragma once

#include <string_view>

namespace stampede::assets {

// The page's bytes (UTF-8 HTML with its CSS and script inline).
std::string_view dashboard_html();

}  // namespace stampede::assets
