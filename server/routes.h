// The HTTP API of API.md as one route table, Redis-command-table style: each row says the
// method and path pattern, who may call it, whether it writes (and so is shed first under
// overload), whether it honours Idempotency-Key, what body it takes and how large, and its
// handler (server/handlers/). Transport-free: a session turns bytes into a `request` and
// writes the `response`; routing, 404/405, auth and body checks are here, in API.md's order:
// size limits (the session), then authentication (401) and role (403), then the body (415,
// 400), then the handler's lookups (404) and state (409, 422, ...).
// Thread-safety: one `api` per shard, used only on that shard's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/engine.h"
#include "server/auth.h"
#include "server/handler.h"
#include "server/metrics.h"
#include "server/request.h"

namespace stampede::http {

// Who may call a route.
enum class access : uint8_t { anyone, user, admin };
// Whether a route changes state (write: subject to admission control) or only reads.
enum class route_kind : uint8_t { read, write };
// Whether a route honours Idempotency-Key (API.md, "Idempotency"). The header's syntax is
// checked on every route.
enum class idempotency : uint8_t { ignored, honoured };
// The body a route takes: none (a body is ignored), a JSON object (415 or 400 before the
// handler runs), or raw bytes the handler reads itself (a signed webhook).
enum class body_kind : uint8_t { none, json, raw };

struct route {
  const char* method;
  const char* pattern;  // segments; "{}" matches one non-empty segment
  access who;
  route_kind kind;
  idempotency keys;
  body_kind body;
  size_t body_bytes_max;  // a longer body is 413; at most the transport's request_body_bytes_max
  handler fn;
};

class api {
 public:
  api(engine& eng, const server_settings& settings, boost::asio::any_io_executor executor,
      metrics& m, uint32_t shard);

  // Routes and starts the request. `route` is set to the index of the route that matched
  // (for metrics; metrics::routes_max - 1 when none did) before anything answers: `respond`,
  // called exactly once, may be called before handle returns (a read on this shard, a
  // refusal), and the answer is counted under that route.
  void handle(request req, size_t& route, responder respond);
  metrics& stats() { return context_.stats; }
  // Admission at the door: while every shard refuses writes (engine::writes_refused), a
  // request for a write route is answered `503 overloaded` before its token or its body is
  // looked at, as a standby answers not_primary. Returns the route's index when it is to
  // be refused so (counted as shed), nullopt when it goes on to handle().
  std::optional<size_t> refused_early(std::string_view method, std::string_view target);
  // The body limit of the route `method` and `target` name (the transport's when none).
  size_t body_bytes_max(std::string_view method, std::string_view target) const;
  // For the WebSocket upgrade: the identity in an `Authorization: Bearer` header value or in
  // a bare token (?access_token=); nullopt when it is not valid.
  std::optional<identity> identify(std::string_view authorization, std::string_view token);

  // The table, in order (its rows are documented where it is defined, in routes.cc).
  static std::span<const route> table();
  // The route names in table order, for metrics labels.
  static std::vector<std::string> route_names();

 private:
  // Authentication, role and body checks, then the route's handler.
  void run(const route& r, call& c);

  handler_context context_;
  token_verifier verifier_;
  uint32_t shard_;  // the one this api serves
};

}  // namespace stampede::http
