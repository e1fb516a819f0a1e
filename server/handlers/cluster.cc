// Replication as the API shows it (API.md, "Replication and failover"): GET
// /v1/admin/cluster, what /readyz says on a node that is not primary, the replication lines
// of /metrics, which routes a standby or replica serves, and GET /v1/admin/snapshot (a
// compact copy of this node's snapshot store, which seeds a node behind the purge point:
// server/snapshot_seed.h). The node's state comes from persistence/replication_node.h.
#include <fcntl.h>
#include <unistd.h>

#include "persistence/replication_node.h"
#include "persistence/snapshot.h"
#include "server/handlers/handlers.h"
#include "server/snapshot_seed.h"

namespace stampede::http::handlers {

namespace {

// The primary as this node knows it; a node that is not primary never names itself.
json::value primary_url(const repl::node_status& st) {
  std::string url = st.primary_url_for_clients();
  return url.empty() ? json::value(nullptr) : json::value(url);
}

}  // namespace

void admin_cluster(handler_context& ctx, call& c) {
  const repl::replication_node* node = ctx.settings.replication;
  if (node == nullptr)
    return c.respond(http_error(404, "not_found", "this node does not replicate (no --replicate)"));
  repl::node_status st = node->status();
  json::array shards;
  for (const auto& s : st.shards)
    shards.push_back(json::object{{"shard", s.shard},
                                  {"applied_seq", s.applied_seq},
                                  {"last_seq", s.last_seq},
                                  {"lag", s.last_seq - s.applied_seq}});
  json::value primary = nullptr;
  if (!st.primary_id.empty() && !st.names_itself())
    primary = json::object{{"node_id", st.primary_id}, {"url", primary_url(st)}};
  c.respond(json_response(200, json::object{{"node_id", st.node_id},
                                            {"role", repl::to_string(st.role)},
                                            {"epoch", st.epoch},
                                            {"primary", std::move(primary)},
                                            {"shards", std::move(shards)}}));
}

void admin_snapshot(handler_context& ctx, call& c) {
  wal::snapshot_store* store = ctx.settings.snapshots;
  if (store == nullptr)
    return c.respond(http_error(404, "not_found", "this node does not replicate (no --replicate)"));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return c.respond(http_error(503, "overloaded", "cannot make a pipe for the copy"));
  // The copy is written by the store's own threads; this shard only relays the pipe.
  store->copy_to(fds[1], [](uint64_t bytes) {
    std::string trailer(snapshot_trailer_magic, sizeof snapshot_trailer_magic);
    for (int i = 0; i < 8; ++i) trailer.push_back(static_cast<char>(bytes >> (8 * i)));
    return trailer;
  });
  response r;
  r.content_type = "application/octet-stream";
  r.body_source = body_source_of(fds[0]);
  c.respond(std::move(r));
}

bool reads_the_store(handler fn) {
  return fn == &list_products || fn == &get_product || fn == &shipping_methods;
}

bool serves_when_following(std::string_view pattern, handler fn) {
  if (pattern.rfind("/v1/", 0) != 0) return true;  // operations
  return reads_the_store(fn) || fn == &admin_cluster || fn == &admin_snapshot;
}

std::optional<response> not_primary_answer(const handler_context& ctx) {
  const repl::replication_node* node = ctx.settings.replication;
  if (node == nullptr || node->primary()) return std::nullopt;
  return not_primary_response(node->status().primary_url_for_clients());
}

std::optional<response> rebuilding_answer(const handler_context& ctx) {
  const repl::replication_node* node = ctx.settings.replication;
  if (node == nullptr || node->role() != repl::node_role::starting) return std::nullopt;
  response r = http_error(503, "overloaded",
                          "this node is rebuilding its store from the streams; try again shortly");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::optional<response> following_readiness(const handler_context& ctx) {
  const repl::replication_node* node = ctx.settings.replication;
  if (node == nullptr || node->primary()) return std::nullopt;
  repl::node_status st = node->status();
  return json_response(503, json::object{{"status", repl::to_string(st.role)},
                                         {"primary", primary_url(st)}});
}

std::string replication_metrics(const handler_context& ctx) {
  const repl::replication_node* node = ctx.settings.replication;
  if (node == nullptr) return "";
  repl::node_status st = node->status();
  std::string out;
  out += "# HELP stampede_replication_primary 1 on the primary, 0 elsewhere.\n";
  out += "# TYPE stampede_replication_primary gauge\n";
  out += "stampede_replication_primary " + std::to_string(st.role == repl::node_role::primary) + "\n";
  out += "# HELP stampede_replication_epoch The epoch of the latest takeover seen.\n";
  out += "# TYPE stampede_replication_epoch gauge\n";
  out += "stampede_replication_epoch " + std::to_string(st.epoch) + "\n";
  out += "# HELP stampede_replication_takeovers_total Takeovers this node made.\n";
  out += "# TYPE stampede_replication_takeovers_total counter\n";
  out += "stampede_replication_takeovers_total " + std::to_string(node->takeovers()) + "\n";
  out += "# HELP stampede_replication_lag Stream messages not yet applied, per shard.\n";
  out += "# TYPE stampede_replication_lag gauge\n";
  for (const auto& s : st.shards)
    out += "stampede_replication_lag{shard=\"" + std::to_string(s.shard) + "\"} " +
           std::to_string(s.last_seq - s.applied_seq) + "\n";
  out += "# HELP stampede_replication_applied_seq The last stream message applied, per shard.\n";
  out += "# TYPE stampede_replication_applied_seq gauge\n";
  for (const auto& s : st.shards)
    out += "stampede_replication_applied_seq{shard=\"" + std::to_string(s.shard) + "\"} " +
           std::to_string(s.applied_seq) + "\n";
  return out;
}

}  // namespace stampede::http::handlers
