#include "server/replicated_serve.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>

#include "core/engine.h"
#include "persistence/recovery.h"
#include "persistence/replication_node.h"
#include "persistence/snapshot.h"
#include "server/handlers/handlers.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "server/snapshot_seed.h"
#include "server/startup_responder.h"

namespace stampede::http {

namespace {

// How long a node starting keeps trying to reach NATS and its streams before it gives up.
constexpr int64_t nats_start_wait_ms = 60'000;
// How often the main thread looks for a signal or a reset.
constexpr int64_t main_poll_ms = 100;
// How long open connections get to finish before an engine is torn down.
constexpr int64_t drain_wait_ms = 2'000;
// The admin token a seeding node signs for itself, and its wait between failed seedings.
constexpr int64_t seed_token_ttl_s = 300;
constexpr int64_t seed_retry_ms = 1'000;

repl::node_options options_of(const config& cfg, const std::string& host, unsigned short port,
                              uint32_t shards) {
  repl::node_options o;
  o.servers = cfg.replicate;
  o.cluster = cfg.cluster;
  o.node_id = cfg.node_id;
  o.url = cfg.advertise.empty() ? "http://" + host + ":" + std::to_string(port) : cfg.advertise;
  o.replica_only = cfg.node_role == "replica";
  o.takeover_after_ms = cfg.takeover_after_ms;
  o.replicas = static_cast<int>(cfg.replicas);
  o.shards = shards;
  o.data_dir = cfg.data_dir;
  o.segment_bytes = static_cast<uint64_t>(cfg.segment_mb) << 20;
  return o;
}

enum class ending : uint8_t { signal, reset, behind, failed };

// Start-up and seeding phases, each logged with the time it took, so that a slow start or
// catch-up can be broken down from the log alone (BENCHMARKS.md, the seeding breakdown).
class phase_log {
 public:
  void done(const std::string& what) {
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "stampede: replication: %s (%.3f s)\n", what.c_str(),
                 std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// What one engine's life needs from the process.
struct node_context {
  const config& cfg;
  const std::string& host;
  unsigned short port;
  const sigset_t& signals;
  repl::replication_node& node;
  wal::data_dir_lock& lock;
  const wal::store_options& store;
  std::optional<startup_responder>& early;
  node_resources resources;
  phase_log& phases;
  bool announced = false;
};

// A node behind its streams' purge point: a peer's snapshot store replaces this node's own
// (the primary's if it answers, else another node's). False when none could give one.
bool seed_from_peer(node_context& nc) {
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string token = sign_token(nc.cfg.jwt_secret, "stampede-node-" + nc.cfg.node_id, "admin",
                                 now_s + seed_token_ttl_s);
  std::string copy = nc.cfg.data_dir + "/seed.mdb";
  for (const std::string& peer : nc.node.peer_urls()) {
    uint64_t bytes = 0;
    if (auto err = fetch_snapshot(peer, token, copy, bytes); !err.empty()) {
      std::fprintf(stderr, "stampede: replication: %s\n", err.c_str());
      continue;
    }
    nc.phases.done("fetched " + peer + "'s snapshot, " + std::to_string(bytes) + " bytes, synced");
    if (auto err = nc.lock.replace_snapshots(copy, nc.store); !err.empty()) {
      std::fprintf(stderr, "stampede: replication: %s\n", err.c_str());
      return false;
    }
    nc.phases.done("seeded from " + peer + "'s snapshot: it replaced this node's store");
    return true;
  }
  return false;
}

void wait_for_connections(http_server& server) {
  server.finish_drain(std::chrono::milliseconds(drain_wait_ms));
}

// Waits for SIGINT/SIGTERM or a reset of the node.
ending wait_for_end(node_context& nc) {
  for (;;) {
    timespec ts{0, main_poll_ms * 1'000'000};
    int sig = sigtimedwait(&nc.signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      std::fprintf(stderr, "stampede: %s: draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      return ending::signal;
    }
    if (nc.node.wait_reset(std::chrono::milliseconds(0))) return ending::reset;
  }
}

// Loads this node's snapshot into `eng` and the streams' records after it. nullopt: the
// engine may start; otherwise how this engine's life ends before it began.
std::optional<ending> restore_from_streams(node_context& nc, engine& eng) {
  std::vector<wal::snapshot_point> from;
  wal::recovery_report loaded;
  if (auto err = wal::load_snapshots(eng, nc.lock, from, loaded); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    return ending::failed;
  }
  nc.phases.done("loaded " + std::to_string(loaded.snapshot_units) + " snapshot units");
  std::vector<recovered_shard> logs;
  if (auto err = nc.node.attach(eng, from, logs); !err.empty()) {
    std::fprintf(stderr, "stampede: replication: %s\n", err.c_str());
    if (!nc.node.behind_purge()) return ending::failed;
    nc.phases.done("found the streams purged past this node's snapshot");
    return ending::behind;
  }
  if (auto err = eng.restore(std::move(logs)); !err.empty()) {
    std::fprintf(stderr, "stampede: refusing to start: after loading the snapshot, %s\n", err.c_str());
    return ending::failed;
  }
  return std::nullopt;
}

// Snapshots that record the stream sequence they cover and report it to the node (the
// purge point follows the oldest snapshot a known node still needs).
wal::snapshot_options snapshot_options_of(node_context& nc) {
  wal::snapshot_options so{nc.cfg.snapshot_interval_s * 1000,
                           static_cast<uint64_t>(nc.cfg.snapshot_log_mb) << 20};
  so.stream_sequence = [&nc](uint32_t shard, uint64_t lsn) {
    return nc.node.sequence_through(shard, lsn);
  };
  so.taken = [&nc](const std::vector<uint64_t>& seqs) { nc.node.snapshot_taken(seqs); };
  return so;
}

// The first engine of the process says where it serves; later ones (after a reset) do not.
void announce_once(node_context& nc, const http_server& server, const engine& eng) {
  if (nc.announced) return;
  std::printf("stampede: serving http://%s:%u with %u shards, node %s of cluster %s\n",
              nc.host.c_str(), server.port(), eng.shard_count(), nc.cfg.node_id.c_str(),
              nc.cfg.cluster.c_str());
  std::fflush(stdout);
  nc.announced = true;
}

// One engine: from this node's snapshot, following the streams, until a signal or a reset.
ending serve_engine(node_context& nc) {
  const config& cfg = nc.cfg;
  engine eng(engine_config_of(cfg, nc.node.options().shards));
  if (auto end = restore_from_streams(nc, eng)) return *end;
  eng.start();
  nc.phases.done("attached to the streams, shards started");
  wal::snapshotter snapshots(eng, cfg.data_dir, *nc.lock.snapshots(), snapshot_options_of(nc));
  snapshots.start();
  server_settings settings = server_settings_of(cfg);
  settings.replication = &nc.node;
  settings.snapshots = nc.lock.snapshots();
  settings.mailer = nc.resources.mailer;
  settings.connections_max = nc.resources.connections_max;
  http_server server(eng, settings);
  if (auto err = server.start(nc.host, nc.early->port()); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    nc.node.detach();
    snapshots.stop();
    eng.stop();
    return ending::failed;
  }
  nc.early.reset();  // the shards' acceptors are bound beside it on the same port
  // Only now: a node that says standby (or replica) must not have the startup responder
  // answer its next request with overloaded.
  nc.node.start_following();
  handlers::set_ready(true);
  nc.phases.done("serving, following the streams from the snapshot's sequence");
  announce_once(nc, server, eng);
  ending end = wait_for_end(nc);
  handlers::set_ready(false);
  if (end == ending::reset && nc.node.behind_purge()) end = ending::behind;
  if (end != ending::signal) {
    // The address answers 503 while the next engine is built.
    nc.early.emplace();
    if (auto err = nc.early->start(nc.host, nc.port); !err.empty())
      std::fprintf(stderr, "stampede: %s\n", err.c_str());
  }
  server.stop_accepting();
  nc.node.detach();
  wait_for_connections(server);
  if (end == ending::signal) {
    if (auto err = snapshots.take(); !err.empty())
      std::fprintf(stderr, "stampede: final snapshot failed: %s\n", err.c_str());
  }
  snapshots.stop();
  eng.stop();
  return end;
}

}  // namespace

int serve_replicated(const config& cfg, const std::string& host, unsigned short port,
                     const sigset_t& signals, node_resources resources) {
  if (cfg.node_id.empty()) {
    std::fprintf(stderr, "stampede: --replicate needs --node-id\n");
    return 2;
  }
  uint32_t shards = cfg.shards ? cfg.shards : std::max(1u, std::thread::hardware_concurrency());
  std::optional<startup_responder> early(std::in_place);
  if (auto err = early->start(host, port); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    return 1;
  }
  unsigned short bound = early->port();
  wal::data_dir_lock lock;
  wal::store_options store;
  store.segment_bytes = static_cast<uint64_t>(cfg.segment_mb) << 20;
  store.currency = cfg.currency;
  if (auto err = lock.open(cfg.data_dir, shards, store); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    return 1;
  }
  phase_log phases;
  std::string err;
  auto node = repl::replication_node::start(options_of(cfg, host, bound, shards),
                                            nats_start_wait_ms, err);
  if (!node) {
    std::fprintf(stderr, "stampede: replication: %s\n", err.c_str());
    return 1;
  }
  phases.done("connected to NATS, streams ready");
  node_context nc{cfg, host, bound, signals, *node, lock, store, early, resources, phases};
  for (;;) {
    ending end = serve_engine(nc);
    if (end == ending::failed) return 1;
    if (end == ending::signal) break;
    if (end == ending::behind) {
      // Until a peer gives its snapshot, the address answers 503 (the startup responder).
      while (!seed_from_peer(nc)) {
        timespec ts{seed_retry_ms / 1000, (seed_retry_ms % 1000) * 1'000'000};
        if (int sig = sigtimedwait(&signals, nullptr, &ts); sig == SIGINT || sig == SIGTERM)
          return 0;
      }
    }
    std::fprintf(stderr, "stampede: replication: rebuilding the store from the streams\n");
  }
  node.reset();
  std::fprintf(stderr, "stampede: stopped\n");
  return 0;
}

}  // namespace stampede::http
