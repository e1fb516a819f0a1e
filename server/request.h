// The transport-free request and response the sessions and the routes exchange, and the
// settings the server runs with. Plain values: any thread; each request belongs to the
// shard whose connection read it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "server/json.h"

namespace stampede::repl {
class replication_node;
}
namespace stampede::wal {
class snapshot_store;
}
namespace stampede::email {
class mailer;
}

namespace stampede::http {

struct request {
  std::string method;  // "GET"
  std::string path;    // "/v1/products/sku-1", percent-decoded
  absl::flat_hash_map<std::string, std::string> query;
  bool query_ok = true;  // false: a bad percent-escape in the path or the query
  std::string authorization;
  std::string content_type;
  std::optional<std::string> idempotency_key;
  std::string if_none_match;
  std::string signature;  // Stampede-Signature
  std::optional<std::string> admission;  // Stampede-Admission: a drop's admission token
  std::string body;
  // Set by the transport when the client goes away while the request is in the engine; a
  // write still queued then is not run.
  std::shared_ptr<const std::atomic<bool>> gone;
};

struct response {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";  // a literal (nothing to allocate)
  std::vector<std::pair<std::string, std::string>> headers;
  // A body too large to hold: read from this descriptor (a pipe) until its end, after the
  // head, and then the connection closes. Closed with the last copy of the response.
  std::shared_ptr<const int> body_source;
};

// Wraps a descriptor for response::body_source.
std::shared_ptr<const int> body_source_of(int fd);

// Called exactly once with the answer, on the shard that read the request.
using responder = absl::AnyInvocable<void(response)>;

struct server_settings {
  presentation pres;
  std::string jwt_secret;
  std::string gateway_secret;
  int64_t request_timeout_s = 10;  // a request must arrive whole within this, else closed
  int64_t webhook_retry_ms = 1000;  // the first webhook retry's delay; doubles, jittered
  std::string webhook_ca_file;      // PEM CAs trusted for https receivers, besides the system's
  const repl::replication_node* replication = nullptr;  // with --replicate: role, primary, lag
  wal::snapshot_store* snapshots = nullptr;  // with --replicate: GET /v1/admin/snapshot copies it
  email::mailer* mailer = nullptr;  // --smtp-url's mailer thread (outlives the server); null: off
  int64_t email_retry_ms = 1000;    // the first email retry's delay; doubles, jittered
  size_t connections_max = SIZE_MAX;  // across shards: the descriptor budget (descriptor_budget.h)
  int64_t keep_alive_timeout_s = 60;  // an idle keep-alive connection is closed after this
};

}  // namespace stampede::http
