// What a route's handler sees (server/routes.h dispatches to it): the `call` (the request,
// its path parameters, the caller's identity, the parsed body, and the responder, answered
// exactly once) and the shard's `handler_context` (engine, settings, executor, metrics and
// the handlers' shard-local caches), plus the helpers every handler file shares.
// Shard-local: one context per shard, used only on that shard's thread; engine answers
// come back on the same thread (answer() names this shard's executor).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "absl/container/flat_hash_map.h"
#include "core/engine.h"
#include "core/limits.h"
#include "server/auth.h"
#include "server/http_errors.h"
#include "server/json.h"
#include "server/metrics.h"
#include "server/request.h"

namespace stampede::http {

struct call {
  request req;
  std::vector<std::string> params;  // the path's "{}" segments, in order
  identity who;
  bool authenticated = false;
  json::object body;  // the route's JSON body, when it takes one
  responder respond;

  // Answers with an engine-shaped error (field_error, make_error).
  void fail(const error& e) { respond(error_response(e)); }
};

// Public product bodies rendered once per product version (every change to a product, stock
// included, moves its version), with their ETag.
struct rendered_product {
  uint64_t version = 0;
  std::string body;
  std::string etag;
};
inline constexpr size_t rendered_products_max = 10'000;  // per shard; past it the cache restarts

struct handler_context {
  engine& eng;
  const server_settings& settings;
  boost::asio::any_io_executor executor;  // this shard's
  metrics& stats;
  absl::flat_hash_map<std::string, rendered_product> rendered_products{};
};

using handler = void (*)(handler_context&, call&);

// An engine reply that answers the call: ok(value) on success, the error's answer otherwise.
// It carries the client's "gone" flag, so a write still queued when the client leaves is
// not run.
template <class T, class F>
reply<T> answer(handler_context& ctx, call& c, F ok) {
  reply<T> r(ctx.executor, [respond = std::move(c.respond), ok = std::move(ok)](result<T> r) mutable {
    if (r.ok()) {
      respond(ok(std::move(r).value()));
    } else {
      respond(error_response(r.err()));
    }
  });
  r.watch(c.req.gone);
  return r;
}

response json_response(unsigned status, const json::value& v);
// A JSON body already written as text (json_writer: the hottest answers).
response json_text_response(unsigned status, std::string body);
// 204 No Content.
response no_content();

// ?limit=N (1..200, default 50) and ?cursor=C; nullopt for a bad limit.
struct paging {
  std::string cursor;
  int64_t limit = limits::page_limit_default;
};
std::optional<paging> read_paging(const request& req);
error bad_limit();

// {"items": [...], "next_cursor": "..." | null}
template <class T, class F>
json::value page_json(const page<T>& pg, F&& item) {
  json::array items;
  for (const auto& x : pg.items) items.push_back(item(x));
  return json::object{{"items", std::move(items)},
                      {"next_cursor", pg.next_cursor.empty() ? json::value(nullptr)
                                                             : json::value(pg.next_cursor)}};
}

// "<field> has the wrong type or is out of range" (for a price, its range), for a reader's
// first bad field.
// The reader's first bad field, with what it must be (price: the bound that keeps every
// amount exact in JavaScript).
error bad_field(const reader& rd);
// The same, with the rule of a field read whole and checked later (an id, a name): the
// reader's own bound is not the rule, so the rule's sentence is given instead.
error bad_field(const reader& rd,
                std::initializer_list<std::pair<std::string_view, std::string_view>> rules);

}  // namespace stampede::http
