// One node of a replicated Stampede (--replicate; API.md, "Replication and failover"): its
// NATS connection, its role, each shard's stream, and the coordinator thread that follows
// the streams, takes over when the primary falls silent, and notices when it is deposed.
// The log is the lease (notes/replication.md): a node is primary once it has appended a
// TAKEOVER to every shard's stream, conditional on the last record it applied.
//
// It outlives the engines it serves. The serve loop recovers an engine from its snapshot,
// attach()es it (the node follows the streams from the snapshot on, as a standby or a
// replica, and may later take over), and when wait_reset() says so (deposed) detach()es
// it and builds a fresh one: a deposed primary keeps only what the streams confirm.
// Thread-safety: attach/wait_reset/detach from the serve loop's thread; the rest any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/engine.h"
#include "core/replica_ops.h"
#include "core/errors.h"
#include "persistence/nats_stream.h"
#include "persistence/replicated_log.h"
#include "persistence/snapshot.h"

namespace stampede::repl {

// The coordinator looks at the streams this often.
inline constexpr int64_t coordinator_period_ms = 50;
// A node tells the others its URL, role and snapshot positions this often...
inline constexpr int64_t advert_period_ms = 2'000;
// ...and is forgotten (its snapshots no longer hold back a purge) when it has not for this
// long. A node away longer is seeded from a peer's snapshot when it comes back.
inline constexpr int64_t advert_ttl_ms_default = 10 * 60 * 1000;
// The primary purges each stream below what every known node still needs this often.
inline constexpr int64_t purge_period_ms = 10'000;
// How long a takeover keeps trying the shards after the first (the old primary stops
// appending once it has seen the first shard taken).
inline constexpr int64_t takeover_rest_ms = 10'000;

enum class node_role : uint8_t { starting, standby, replica, primary };
const char* to_string(node_role r);

struct node_options {
  std::vector<std::string> servers;
  std::string cluster;
  std::string node_id;
  // This process's random instance id (stream_frame.h), part of every MsgId it writes: two
  // processes started with the same node_id must not write the same MsgIds. start() makes
  // a fresh one; whatever the caller put here is replaced.
  std::string instance;
  std::string url;            // advertised
  bool replica_only = false;  // --role replica: never takes over
  int64_t takeover_after_ms = 1500;
  int replicas = 3;
  uint32_t shards = 1;
  std::string data_dir;       // a primary's log segments go here
  uint64_t segment_bytes = 64ull << 20;
  int64_t advert_ttl_ms = advert_ttl_ms_default;
};

struct shard_progress {
  uint32_t shard = 0;
  uint64_t applied_seq = 0;  // the last stream message applied (or, on the primary, acknowledged)
  uint64_t last_seq = 0;     // the stream's last message as far as this node knows
};
struct node_status {
  std::string node_id;
  node_role role = node_role::starting;
  uint64_t epoch = 0;
  std::string primary_id;   // "" when unknown
  std::string primary_url;  // "" when unknown
  std::vector<shard_progress> shards;
  // Whether it names this node while this node is not primary: a deposed primary rebuilding
  // its store still holds its own takeover as the latest it saw.
  bool names_itself() const { return role != node_role::primary && primary_id == node_id; }
  // The primary's URL as clients are told it: "" when unknown, never this node's own.
  std::string primary_url_for_clients() const { return names_itself() ? std::string() : primary_url; }
};

class replication_node {
 public:
  // Connects and makes sure every shard's stream exists (blocking; keeps trying until
  // `wait_ms` has passed). "" in `error` or why not.
  static std::unique_ptr<replication_node> start(node_options options, int64_t wait_ms,
                                                 std::string& error);
  ~replication_node();
  replication_node(const replication_node&) = delete;
  replication_node& operator=(const replication_node&) = delete;

  // ---- The serve loop ----
  // An engine recovered from its snapshot and not yet started (nor restored); `from[i]` is
  // where shard i's snapshot left it. Fills `logs` with each shard's follower log, for
  // engine::restore(). "" or why it cannot (behind_purge() then says a peer's snapshot
  // would help).
  std::string attach(engine& eng, const std::vector<wal::snapshot_point>& from,
                     std::vector<recovered_shard>& logs);
  // Once the engine runs: follows the streams from the snapshots on.
  void start_following();
  // Waits up to `wait` for a reason to rebuild the engine (this node was deposed).
  bool wait_reset(std::chrono::milliseconds wait);
  // Stops following and publishing, and answers what the shards still wait on with
  // not_primary; then the engine may stop.
  void detach();
  bool behind_purge() const { return behind_purge_.load(); }

  // ---- Any thread ----
  node_role role() const { return role_.load(std::memory_order_acquire); }
  bool primary() const { return role() == node_role::primary; }
  node_status status() const;
  // The stream message that covers shard `shard`'s records through `lsn` (snapshots).
  uint64_t sequence_through(uint32_t shard, uint64_t lsn) const;
  // A snapshot now covers these stream messages, one per shard (advertised to the others).
  void snapshot_taken(std::vector<uint64_t> sequences);
  // The other nodes' advertised URLs, the primary's first: where a node behind its
  // streams' purge point fetches a snapshot.
  std::vector<std::string> peer_urls();
  const node_options& options() const { return options_; }
  // Counters for /metrics.
  uint64_t takeovers() const { return takeovers_.load(); }

 private:
  struct follower;   // one shard's following state
  struct leader_info;

  explicit replication_node(node_options options);
  void run();        // the coordinator thread
  void tick(int64_t now_ms);
  bool should_take_over(int64_t now_ms);
  void take_over();
  bool take_shard(uint32_t k, uint64_t epoch, int64_t deadline_ms, uint64_t& sequence);
  bool become_primary(uint64_t epoch, const std::vector<uint64_t>& takeover_seqs);
  void on_frame(uint32_t k, shard& s, stream_tail::message&& m);  // shard k's thread
  void deposed(const std::string& why);
  void advertise(int64_t now_ms);
  void purge(int64_t now_ms);

  const node_options options_;
  std::unique_ptr<nats_connection> connection_;
  std::vector<std::unique_ptr<shard_stream>> streams_;
  std::unique_ptr<node_registry> registry_;

  std::atomic<node_role> role_{node_role::starting};
  std::atomic<bool> behind_purge_{false};
  std::atomic<uint64_t> takeovers_{0};
  std::unique_ptr<leader_info> leader_;           // who leads: epoch, node, URL (its own mutex)
  std::vector<std::unique_ptr<follower>> shards_;  // per shard, for the node's life
  // The attached engine's claims waiting for their products (remade by attach(), before
  // the engine's shards run; then each shard's part on its own thread).
  replica_ops::waiting_claims waiting_;

  // The engine attached, shared by the serve loop and the coordinator.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  engine* engine_ = nullptr;  // guarded by mu_
  bool following_ = false;    // guarded by mu_
  bool reset_due_ = false;    // guarded by mu_
  bool stop_ = false;         // guarded by mu_
  std::atomic<int64_t> quiet_since_ms_{0};  // since when every tail has been healthy
  std::atomic<int64_t> next_advert_ms_{0};
  int64_t next_purge_ms_ = 0;  // the coordinator's
  std::vector<uint64_t> snapshot_seqs_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace stampede::repl
