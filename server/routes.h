// The HTTP API of API.md as a route table, and the handlers behind it. Transport-free: the
// Beast session (http_server.cc) turns bytes into a `request` and writes the `response`;
// everything between (routing, 404/405, auth, body checks, engine calls, JSON) is here.
//
// Checks run in API.md's order: size limits (the session), then authentication (401) and
// role (403), then the body (415, 400), then lookups (404) and state (409, 422, ...).
//
// Thread-safety: one `api` per shard, used only on that shard's thread; answers come back
// on the same thread (the engine replies on this shard's executor).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "core/engine.h"
#include "server/auth.h"
#include "server/json.h"
#include "server/metrics.h"

namespace stampede::http {

struct request {
  std::string method;  // "GET"
  std::string path;    // "/v1/products/sku-1", percent-decoded
  absl::flat_hash_map<std::string, std::string> query;
  bool query_ok = true;  // false: a malformed query string
  std::string authorization;
  std::string content_type;
  std::optional<std::string> idempotency_key;
  std::string if_none_match;
  std::string signature;  // Stampede-Signature
  std::string body;
};

struct response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

using responder = absl::AnyInvocable<void(response)>;

struct server_settings {
  presentation pres;
  std::string jwt_secret;
  std::string gateway_secret;
  int64_t request_timeout_s = 10;  // a request must arrive whole within this, else closed
  int64_t webhook_retry_ms = 1000;  // the first webhook retry's delay; doubles, jittered
  std::string webhook_ca_file;      // PEM CAs trusted for https receivers, besides the system's
};

// Splits a request target into a decoded path and query parameters.
void parse_target(std::string_view target, request& out);

// An error answer in API.md's shape.
response error_response(const error& e);
response http_error(unsigned status, std::string_view code, std::string message);

// Process-wide readiness (/readyz): false until the store is loaded and serving.
void set_ready(bool ready);

class api {
 public:
  api(engine& eng, const server_settings& settings, boost::asio::any_io_executor executor,
      metrics& m);

  // Routes and starts the request; returns the index of the route that matched (for
  // metrics; metrics::routes_max - 1 when none did). `respond` is called exactly once.
  size_t handle(request req, responder respond);
  metrics& stats() { return metrics_; }
  // For the WebSocket upgrade: the identity in an `Authorization: Bearer` header value or in
  // a bare token (?access_token=); nullopt when it is not valid.
  std::optional<identity> identify(std::string_view authorization, std::string_view token);

  // The route names in table order, for metrics labels.
  static std::vector<std::string> route_names();

 private:
  enum class access : uint8_t { anyone, user, admin };
  struct call;
  using handler = void (api::*)(call&);
  struct route {
    const char* method;
    const char* pattern;  // segments; "{}" matches one segment
    access who;
    bool json_body;  // the route reads a JSON object body
    handler fn;
  };
  static const std::vector<route>& table();
  // Authentication, role and body checks, then the route's handler.
  void run(const route& r, call& c);

  template <class T>
  reply<T> answer(call& c, absl::AnyInvocable<response(T)> ok);

  // Handlers, one per route.
  void list_products(call& c);
  void get_product(call& c);
  void admin_list_products(call& c);
  void list_products_as(call& c, bool admin);
  void admin_create_product(call& c);
  void admin_get_product(call& c);
  void admin_patch_product(call& c);
  void admin_adjust_stock(call& c);
  void admin_deactivate_product(call& c);
  void get_cart(call& c);
  void add_cart_item(call& c);
  void set_cart_item(call& c);
  void remove_cart_item(call& c);
  void clear_cart(call& c);
  void list_addresses(call& c);
  void add_address(call& c);
  void delete_address(call& c);
  void shipping_methods(call& c);
  void admin_replace_shipping_methods(call& c);
  void checkout_preview(call& c);
  void place_order(call& c);
  void list_orders(call& c);
  void get_order(call& c);
  void cancel_order(call& c);
  void admin_list_orders(call& c);
  void admin_set_status(call& c);
  void pay_order(call& c);
  void payment_webhook(call& c);
  void list_notifications(call& c);
  void admin_add_webhook(call& c);
  void admin_list_webhooks(call& c);
  void admin_get_webhook(call& c);
  void admin_delete_webhook(call& c);
  void healthz(call& c);
  void readyz(call& c);
  void metrics_text(call& c);

  // Rendered public product bodies by id, valid while the product's version is unchanged
  // (every change to a product, stock included, moves its version). Shard-local.
  struct rendered_product {
    uint64_t version = 0;
    std::string body;
    std::string etag;
  };
  static constexpr size_t product_cache_max = 10'000;
  absl::flat_hash_map<std::string, rendered_product> product_cache_;

  engine& engine_;
  const server_settings& settings_;
  boost::asio::any_io_executor executor_;
  metrics& metrics_;
  token_verifier verifier_;
};

}  // namespace stampede::http
