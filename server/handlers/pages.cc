// Pages and documents for people and tools rather than storefronts: GET /dashboard (the live
// sale page, built into the binary) and GET /openapi.json (the API's description, made from
// the route table once, on first use).
#include "server/dashboard/dashboard.h"
#include "server/handlers/handlers.h"
#include "server/openapi.h"
#include "server/routes.h"

namespace stampede::http::handlers {

namespace {

// The page may run its own inline script and style and open a WebSocket to this server, and
// nothing else: a browser refuses anything the page would load from elsewhere.
constexpr const char* dashboard_policy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace

void dashboard(handler_context&, call& c) {
  response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(assets::dashboard_html());
  r.headers = {{"Content-Security-Policy", dashboard_policy},
               {"Referrer-Policy", "no-referrer"},
               {"X-Content-Type-Options", "nosniff"},
               {"Cache-Control", "no-cache"}};
  c.respond(std::move(r));
}

void openapi(handler_context&, call& c) {
  static const std::string document = openapi_json(api::table());
  response r;
  r.body = document;
  c.respond(std::move(r));
}

}  // namespace stampede::http::handlers
