#include "server/openapi.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "server/http_text.h"

namespace stampede::assets {
std::string_view openapi_schemas_json();
}  // namespace stampede::assets

namespace stampede::http {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------
// The operation notes: what the route table does not say. Columns: method, pattern (as in
// the table), operationId, tag, summary, path parameter names, query parameters, request
// schema, success status, answer schema, answer media type, the handler's own statuses.
constexpr const char* json_media = nullptr;
constexpr const char* no_body = nullptr;

constexpr operation_note notes[] = {
    // Catalog.
    {"GET", "/v1/products", "list_products", "catalog", "Active products by id; q filters by a case-insensitive substring of the name", "", "limit,cursor,q", no_body, 200, "ProductPage", json_media, "304"},
    {"GET", "/v1/products/{}", "get_product", "catalog", "One active product, with an ETag (If-None-Match answers 304)", "id", "", no_body, 200, "Product", json_media, "304 404"},
    {"GET", "/v1/admin/products", "admin_list_products", "catalog", "Every product with on_hand, reserved and committed", "", "limit,cursor,q", no_body, 200, "AdminProductPage", json_media, ""},
    {"POST", "/v1/admin/products", "create_product", "catalog", "Create a product", "", "", "ProductCreate", 201, "AdminProduct", json_media, "409"},
    {"GET", "/v1/admin/products/{}", "admin_get_product", "catalog", "A product with its stock counts", "id", "", no_body, 200, "AdminProduct", json_media, "404"},
    {"PATCH", "/v1/admin/products/{}", "update_product", "catalog", "Change any field but the id; on_hand below reserved + committed is 409", "id", "", "ProductPatch", 200, "AdminProduct", json_media, "404 409"},
    {"DELETE", "/v1/admin/products/{}", "deactivate_product", "catalog", "Deactivate: unlisted, 404 on public routes, still in orders", "id", "", no_body, 200, "AdminProduct", json_media, "404"},
    {"POST", "/v1/admin/products/{}/stock", "adjust_stock", "catalog", "Add (or with a negative delta remove) units atomically", "id", "", "StockDelta", 200, "AdminProduct", json_media, "404 409"},
    // Cart.
    {"GET", "/v1/cart", "get_cart", "cart", "The caller's cart", "", "", no_body, 200, "Cart", json_media, ""},
    {"DELETE", "/v1/cart", "clear_cart", "cart", "Empty the cart and release every hold", "", "", no_body, 200, "Cart", json_media, ""},
    {"POST", "/v1/cart/items", "add_cart_item", "cart", "Add units to a line, held for --hold-ttl", "", "", "CartItemAdd", 200, "Cart", json_media, "403 404 409"},
    {"PATCH", "/v1/cart/items/{}", "set_cart_item", "cart", "Set a line's quantity (0 removes it)", "product_id", "", "CartItemSet", 200, "Cart", json_media, "403 404 409"},
    {"DELETE", "/v1/cart/items/{}", "remove_cart_item", "cart", "Remove a line and release its hold", "product_id", "", no_body, 200, "Cart", json_media, "404"},
    // Addresses and shipping.
    {"GET", "/v1/addresses", "list_addresses", "addresses", "The caller's addresses", "", "", no_body, 200, "AddressList", json_media, ""},
    {"POST", "/v1/addresses", "add_address", "addresses", "Add an address", "", "", "AddressFields", 201, "Address", json_media, ""},
    {"DELETE", "/v1/addresses/{}", "delete_address", "addresses", "Delete an address", "id", "", no_body, 204, no_body, json_media, "404"},
    {"GET", "/v1/shipping-methods", "shipping_methods", "addresses", "The store's shipping methods", "", "", no_body, 200, "ShippingMethods", json_media, ""},
    {"PUT", "/v1/admin/shipping-methods", "replace_shipping_methods", "addresses", "Replace the shipping methods", "", "", "ShippingMethods", 200, "ShippingMethods", json_media, ""},
    // Webhook registrations.
    {"POST", "/v1/admin/webhooks", "add_webhook", "webhooks", "Register a receiver of signed order events", "", "", "WebhookCreate", 201, "Webhook", json_media, ""},
    {"GET", "/v1/admin/webhooks", "list_webhooks", "webhooks", "The registered webhooks by id (never their secrets)", "", "limit,cursor", no_body, 200, "WebhookList", json_media, ""},
    {"GET", "/v1/admin/webhooks/{}", "get_webhook", "webhooks", "One webhook", "id", "", no_body, 200, "Webhook", json_media, "404"},
    {"DELETE", "/v1/admin/webhooks/{}", "delete_webhook", "webhooks", "Remove a webhook", "id", "", no_body, 204, no_body, json_media, "404"},
    // Checkout and orders.
    {"POST", "/v1/checkout/preview", "checkout_preview", "orders", "The order summary, changing nothing", "", "", "Checkout", 200, "CheckoutSummary", json_media, ""},
    {"POST", "/v1/orders", "place_order", "orders", "Place the order: all of the cart's lines or none", "", "", "OrderPlace", 201, "Order", json_media, "403 409"},
    {"GET", "/v1/orders", "list_orders", "orders", "The caller's orders, newest first", "", "limit,cursor", no_body, 200, "OrderPage", json_media, ""},
    {"GET", "/v1/orders/{}", "get_order", "orders", "One order (the owner's or, for an admin, anyone's)", "id", "", no_body, 200, "Order", json_media, "404"},
    {"POST", "/v1/orders/{}/cancel", "cancel_order", "orders", "Cancel from pending, paid or processing; stock returns, a payment is refunded", "id", "", no_body, 200, "Order", json_media, "404 409"},
    {"GET", "/v1/admin/orders", "admin_list_orders", "orders", "Every order, filterable by status", "", "limit,cursor,status", no_body, 200, "OrderPage", json_media, ""},
    {"POST", "/v1/admin/orders/{}/status", "set_order_status", "orders", "Move an order forward (or cancel it)", "id", "", "StatusChange", 200, "Order", json_media, "404 409"},
    // Payments.
    {"POST", "/v1/orders/{}/payments", "pay_order", "payments", "Pay a pending order", "id", "", "PaymentRequest", 201, "PaymentResult", json_media, "402 404 409 422"},
    {"POST", "/v1/webhooks/payments", "payment_webhook", "payments", "The gateway's confirmation, signed: Stampede-Signature: sha256=<hex HMAC of the body>", "", "", "GatewayWebhook", 200, "Received", json_media, "404"},
    // Notifications.
    {"GET", "/v1/notifications", "list_notifications", "notifications", "The caller's inbox, newest first", "", "limit,cursor", no_body, 200, "NotificationPage", json_media, ""},
    // Operations.
    {"GET", "/healthz", "healthz", "operations", "The process runs", "", "", no_body, 200, "Status", json_media, ""},
    {"GET", "/readyz", "readyz", "operations", "Recovery is done and requests are served", "", "", no_body, 200, "Status", json_media, "503"},
    {"GET", "/metrics", "metrics", "operations", "Prometheus text format", "", "", no_body, 200, nullptr, "text/plain; version=0.0.4", ""},
    {"GET", "/dashboard", "dashboard", "operations", "The live sale page; its figures need an admin token (?access_token= or its form)", "", "access_token", no_body, 200, nullptr, "text/html", ""},
    {"GET", "/openapi.json", "openapi", "operations", "This document", "", "", no_body, 200, nullptr, json_media, ""},
    {"GET", "/v1/admin/cluster", "cluster", "operations", "This node's view of the cluster (404 on a node run without --replicate)", "", "", no_body, 200, "Cluster", json_media, "404"},
    {"GET", "/v1/admin/snapshot", "snapshot_copy", "operations", "A consistent compact copy of this node's LMDB snapshot, streamed (seeds a node behind the streams' purge point)", "", "", no_body, 200, nullptr, "application/octet-stream", "503"},
    // Drops, draws and waitlists.
    {"POST", "/v1/admin/drops", "create_drop", "drops", "Create a drop (queue or draw) over some products", "", "", "DropCreate", 201, "AdminDrop", json_media, "409"},
    {"GET", "/v1/admin/drops/{}", "admin_get_drop", "drops", "A drop with its counts", "id", "", no_body, 200, "AdminDrop", json_media, "404"},
    {"POST", "/v1/admin/drops/{}/pause", "pause_drop", "drops", "Pause admissions (a closed drop: 409)", "id", "", no_body, 200, "AdminDrop", json_media, "404 409"},
    {"POST", "/v1/admin/drops/{}/resume", "resume_drop", "drops", "Resume admissions (a closed drop: 409)", "id", "", no_body, 200, "AdminDrop", json_media, "404 409"},
    {"POST", "/v1/admin/drops/{}/close", "close_drop", "drops", "Close a drop (again: 200, as it is)", "id", "", no_body, 200, "AdminDrop", json_media, "404"},
    {"GET", "/v1/drops/{}", "get_drop", "drops", "A drop's public view, with its seed once revealed", "id", "", no_body, 200, "Drop", json_media, "404"},
    {"POST", "/v1/drops/{}/queue", "join_queue", "drops", "Join a drop's queue (201; again: 200 with the same ticket; a draw is 409)", "id", "", no_body, 201, "Ticket", json_media, "200 403 404 409 410"},
    {"GET", "/v1/drops/{}/queue/me", "get_ticket", "drops", "The caller's ticket", "id", "", no_body, 200, "Ticket", json_media, "404"},
    {"DELETE", "/v1/drops/{}/queue/me", "leave_queue", "drops", "Leave the queue", "id", "", no_body, 204, no_body, json_media, "404"},
    {"POST", "/v1/drops/{}/entries", "enter_draw", "drops", "Enter a draw (201; again: 200 with the same entry)", "id", "", no_body, 201, "Entry", json_media, "200 403 404"},
    {"GET", "/v1/drops/{}/entries/me", "get_entry", "drops", "The caller's entry", "id", "", no_body, 200, "Entry", json_media, "404"},
    {"POST", "/v1/products/{}/waitlist", "join_waitlist", "drops", "Wait for units of a sold-out product (201; again: 200)", "id", "", "WaitlistJoin", 201, "WaitlistPlace", json_media, "200 404 409"},
    {"GET", "/v1/products/{}/waitlist/me", "get_waitlist_place", "drops", "The caller's place on the waitlist", "id", "", no_body, 200, "WaitlistPlace", json_media, "404"},
    {"DELETE", "/v1/products/{}/waitlist/me", "leave_waitlist", "drops", "Leave the waitlist", "id", "", no_body, 204, no_body, json_media, "404"},
};

// The query parameters a note may name.
json::object query_parameter(std::string_view name) {
  json::object schema;
  std::string description;
  if (name == "limit") {
    schema = {{"type", "integer"}, {"minimum", 1}, {"maximum", 200}, {"default", 50}};
    description = "items a page";
  } else if (name == "cursor") {
    schema = {{"type", "string"}};
    description = "the next_cursor of the page before";
  } else if (name == "q") {
    schema = {{"type", "string"}};
    description = "a case-insensitive substring of the product's name";
  } else if (name == "status") {
    schema = {{"$ref", "#/components/schemas/OrderStatus"}};
    description = "only orders in this status";
  } else if (name == "ws_access_token") {
    name = "access_token";
    schema = {{"type", "string"}};
    description = "a bearer token, for clients that cannot set Authorization on the upgrade";
  } else {
    schema = {{"type", "string"}};
    description = "an admin bearer token";
  }
  return {{"name", name}, {"in", "query"}, {"required", false},
          {"description", description}, {"schema", std::move(schema)}};
}

std::vector<std::string_view> split_list(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t at = text.find(separator);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::string_view reason(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not modified (If-None-Match matched the ETag)";
    case 400: return "invalid_request: a malformed body, field, query or Idempotency-Key";
    case 401: return "unauthorized: no valid token (or, on the gateway's webhook, signature)";
    case 402: return "payment_failed";
    case 403: return "forbidden (not an admin), or the sale's state refuses it";
    case 404: return "not_found";
    case 409: return "the resource's state refuses the change";
    case 410: return "sold_out";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type: the body is not JSON";
    case 431: return "request_header_fields_too_large: the request line and headers pass 8 KiB";
    case 422: return "idempotency_mismatch or amount_mismatch";
    case 429: return "rate_limited; retry after Retry-After seconds";
    case 503: return "overloaded (or not_primary); retry after Retry-After seconds";
  }
  return "see the error's code";
}

json::object error_answer(unsigned status) {
  json::object r{{"description", reason(status)},
                 {"content", {{"application/json",
                               {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
  if (status == 429 || status == 503)
    r["headers"] = {{"Retry-After", {{"description", "seconds to wait"},
                                     {"schema", {{"type", "integer"}}}}}};
  return r;
}

json::object success_answer(unsigned status, const operation_note* note) {
  json::object r{{"description", reason(status)}};
  if (status == 204 || status == 304) return r;
  std::string media = note && note->media ? note->media : "application/json";
  json::object schema{{"type", "object"}};
  if (note && note->answer)
    schema = {{"$ref", std::string("#/components/schemas/") + note->answer}};
  else if (media != "application/json")
    schema = {{"type", "string"}};
  r["content"] = {{media, {{"schema", std::move(schema)}}}};
  return r;
}

// The statuses a row implies by its columns, and those its note adds, in order.
std::vector<unsigned> error_statuses(const route& r, const operation_note* note) {
  std::vector<unsigned> out{400, 401, 431};  // every route checks the head, query and token
  if (r.who == access::admin) out.push_back(403);
  if (std::string_view(r.pattern).find("{}") != std::string_view::npos) out.push_back(404);
  if (r.body != body_kind::none) out.push_back(413);
  if (r.body == body_kind::json) out.push_back(415);
  if (r.keys == idempotency::honoured) out.push_back(422);
  if (r.who != access::anyone) out.push_back(429);
  // Writes may be shed; under --replicate any /v1/ route may be not_primary (a standby),
  // and a product read overloaded while the node rebuilds its store.
  if (r.kind == route_kind::write || std::string_view(r.pattern).rfind("/v1/", 0) == 0)
    out.push_back(503);
  if (note)
    for (auto s : split_list(note->errors, ' '))
      out.push_back(static_cast<unsigned>(std::stoul(std::string(s))));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The pattern's segments, each "{}" given its name from the note (or p1, p2, ...).
std::vector<std::pair<std::string, bool>> named_segments(const route& r, const operation_note* note) {
  std::vector<std::string_view> names;
  if (note) names = split_list(note->params, ',');
  std::vector<std::pair<std::string, bool>> out;  // (text or name, is a parameter)
  size_t n = 0;
  for (auto segment : split_path(r.pattern)) {
    if (segment != "{}") {
      out.emplace_back(segment, false);
      continue;
    }
    out.emplace_back(n < names.size() ? std::string(names[n]) : "p" + std::to_string(n + 1), true);
    ++n;
  }
  return out;
}

json::array parameters(const route& r, const operation_note* note) {
  json::array out;
  for (const auto& [name, is_parameter] : named_segments(r, note))
    if (is_parameter)
      out.push_back(json::object{{"name", name}, {"in", "path"}, {"required", true},
                                 {"schema", {{"type", "string"}}}});
  if (note)
    for (auto q : split_list(note->query, ',')) out.push_back(query_parameter(q));
  if (r.keys == idempotency::honoured)
    out.push_back(json::object{
        {"name", "Idempotency-Key"}, {"in", "header"}, {"required", false},
        {"description", "the same key and body within 24 hours replay the first answer"},
        {"schema", {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}}});
  return out;
}

// A body is required when its schema requires a field. Where none is, a request without a
// body is taken as the empty object (a preview, a patch, a waitlist join of one unit).
bool requires_a_field(const json::object& schemas, const json::value& schema, int depth = 0) {
  if (!schema.is_object() || depth > 8) return false;
  const json::object& o = schema.as_object();
  if (const json::value* required = o.if_contains("required");
      required && required->is_array() && !required->as_array().empty())
    return true;
  if (const json::value* ref = o.if_contains("$ref"); ref && ref->is_string()) {
    constexpr std::string_view prefix = "#/components/schemas/";
    std::string_view target = ref->as_string();
    if (target.substr(0, prefix.size()) == prefix)
      if (const json::value* named = schemas.if_contains(target.substr(prefix.size())))
        return requires_a_field(schemas, *named, depth + 1);
  }
  if (const json::value* all = o.if_contains("allOf"); all && all->is_array())
    for (const json::value& part : all->as_array())
      if (requires_a_field(schemas, part, depth + 1)) return true;
  return false;
}

bool body_required(const json::object& schemas, const char* name) {
  if (!name) return true;
  const json::value* schema = schemas.if_contains(name);
  return !schema || requires_a_field(schemas, *schema);
}

json::object operation(const route& r, const operation_note* note, const json::object& schemas) {
  json::object op;
  op["operationId"] = note ? note->id : std::string(r.method) + " " + r.pattern;
  op["summary"] = note ? note->summary : std::string(r.method) + " " + r.pattern;
  if (note) op["tags"] = json::array{note->tag};
  if (r.who != access::anyone) op["security"] = json::array{json::object{{"bearer", json::array{}}}};
  json::array params = parameters(r, note);
  if (!params.empty()) op["parameters"] = std::move(params);
  if (r.body != body_kind::none) {
    json::object schema{{"type", "object"}};
    if (note && note->request) schema = {{"$ref", std::string("#/components/schemas/") + note->request}};
    op["requestBody"] = {{"required", body_required(schemas, note ? note->request : nullptr)},
                         {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
  }
  json::object answers;
  unsigned success = note ? note->success : 200;
  answers[std::to_string(success)] = success_answer(success, note);
  for (unsigned status : error_statuses(r, note))
    answers[std::to_string(status)] = status < 400 ? success_answer(status, note) : error_answer(status);
  // /readyz's 503 is its status (starting, standby, replica), not an error.
  if (note && std::string_view(note->id) == "readyz")
    answers["503"] = {{"description", "not ready: starting, or a standby or replica (with the primary)"},
                      {"content", {{"application/json",
                                    {{"schema", {{"$ref", "#/components/schemas/Status"}}}}}}}};
  op["responses"] = std::move(answers);
  return op;
}

// GET /v1/ws is answered before the route table (http_session::upgrade), so its operation
// is written here: the upgrade, or the head of a GET that cannot upgrade.
json::object websocket_operation() {
  json::object upgraded{
      {"description", "Switching Protocols: the connection speaks WebSocket (RFC 6455); the "
                      "messages are API.md's WebSocket section"}};
  json::object refused = error_answer(503);
  refused["description"] = "overloaded: too many WebSocket connections on this shard";
  return {{"operationId", "websocket"},
          {"tags", json::array{"websocket"}},
          {"summary", "Upgrade to the WebSocket; a token (Authorization or access_token) lets "
                      "the connection subscribe to the caller's topics"},
          {"parameters", json::array{query_parameter("ws_access_token")}},
          {"responses", {{"101", std::move(upgraded)},
                         {"400", error_answer(400)},
                         {"401", error_answer(401)},
                         {"431", error_answer(431)},
                         {"503", std::move(refused)}}}};
}

json::object schemas() {
  std::error_code ec;
  json::value v = json::parse(assets::openapi_schemas_json(), ec);
  return ec || !v.is_object() ? json::object{} : v.as_object();  // the schemas test keeps it parseable
}

}  // namespace

std::span<const operation_note> operation_notes() { return notes; }

const operation_note* find_operation_note(std::string_view method, std::string_view pattern) {
  for (const auto& n : notes)
    if (method == n.method && pattern == n.pattern) return &n;
  return nullptr;
}

std::string openapi_path(const route& r, const operation_note* note) {
  std::string path;
  for (const auto& [text, is_parameter] : named_segments(r, note))
    path += is_parameter ? "/{" + text + "}" : "/" + text;
  return path.empty() ? "/" : path;
}

std::string openapi_json(std::span<const route> table) {
  json::object components = schemas();
  json::object paths;
  for (const route& r : table) {
    const operation_note* note = find_operation_note(r.method, r.pattern);
    std::string method(r.method);
    for (char& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    json::value& methods = paths[openapi_path(r, note)];
    if (!methods.is_object()) methods.emplace_object();
    methods.as_object()[method] = operation(r, note, components);
  }
  paths["/v1/ws"] = {{"get", websocket_operation()}};
  json::object doc{
      {"openapi", "3.1.0"},
      {"info", {{"title", "Stampede"}, {"version", "1"},
                {"description", "The HTTP API of an in-memory inventory and order server for "
                                "flash sales. Money is an integer in minor units; times are RFC "
                                "3339 UTC with milliseconds; every error has the Error shape."}}},
      {"servers", json::array{json::object{{"url", "/"}}}},
      {"paths", std::move(paths)},
      {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                                                       {"bearerFormat", "JWT (HS256)"}}}}},
                      {"schemas", std::move(components)}}}};
  return json::serialize(doc);
}

}  // namespace stampede::http
