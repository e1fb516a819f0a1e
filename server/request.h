// The transport-free request and response the sessions and the routes exchange, and the
// settings the server runs with. Plain values: any thread; each request belongs to the
// shard whose connection read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "server/json.h"

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
  std::optional<std::string> admission;  // Stampede-Admission: a drop's admission token
  std::string body;
};

struct response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once with the answer, on the shard that read the request.
using responder = absl::AnyInvocable<void(response)>;

struct server_settings {
  presentation pres;
  std::string jwt_secret;
  std::string gateway_secret;
  int64_t request_timeout_s = 10;  // a request must arrive whole within this, else closed
  int64_t webhook_retry_ms = 1000;  // the first webhook retry's delay; doubles, jittered
  std::string webhook_ca_file;      // PEM CAs trusted for https receivers, besides the system's
};

}  // namespace stampede::http
