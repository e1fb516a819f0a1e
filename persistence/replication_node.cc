#include "persistence/replication_node.h"

#include <algorithm>
#include <cstdio>
#include <future>
#include <map>
#include <sstream>

#include <boost/asio/system_executor.hpp>

#include "core/drop_ops.h"
#include "core/drop_product_ops.h"
#include "core/replica_ops.h"
#include "core/shard.h"
#include "persistence/stream_frame.h"
#include "persistence/wal_format.h"

namespace stampede::repl {

namespace {

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Between attempts while the cluster has no leader for a shard's stream.
constexpr int64_t retry_wait_ms = 50;

stream_config config_of(const node_options& o, uint32_t shard) {
  stream_config c;
  c.cluster = o.cluster;
  c.shard = shard;
  c.shards = o.shards;
  c.replicas = o.replicas;
  return c;
}

// Runs fn(shard&) on shard i's thread and waits for it (the coordinator's or the serve
// loop's thread; never a shard's).
template <class F>
void on_shard_and_wait(engine& eng, uint32_t i, F fn) {
  std::promise<void> done;
  eng.shard_at(i).post(shard_task{[&fn, &done](shard& s) {
    fn(s);
    done.set_value();
  }});
  done.get_future().wait();
}

// The drops' derived state, as a restart derives it (engine::restore): which products open
// drops hold, the counts of the limits across accounts, the tickets seen now. Before the
// shards take writes, or a drop's product could be added without an admission.
void rederive_drops(engine& eng, uint32_t shards) {
  std::vector<drop_ops::claim_list> claims(shards);
  std::vector<std::vector<drop_product_ops::limit_units>> units(shards);
  for (uint32_t k = 0; k < shards; ++k)
    on_shard_and_wait(eng, k, [&, k](shard& s) {
      claims[k] = drop_ops::claims_of(s);
      units[k] = drop_product_ops::limit_units_of(s);
    });
  for (uint32_t k = 0; k < shards; ++k)
    on_shard_and_wait(eng, k, [&](shard& s) {
      drop_ops::take_over(s, claims);
      drop_product_ops::recount(s, units);
    });
}

// What a node advertises: "url=...\nrole=...\nsnapshots=s0,s1,...\n".
std::string advert(const std::string& url, node_role role, const std::vector<uint64_t>& snaps) {
  std::string out = "url=" + url + "\nrole=" + to_string(role) + "\nsnapshots=";
  for (size_t i = 0; i < snaps.size(); ++i) out += (i ? "," : "") + std::to_string(snaps[i]);
  return out + "\n";
}
std::string advert_field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return "";
}
std::vector<uint64_t> advert_snapshots(const std::string& text) {
  std::vector<uint64_t> out;
  std::istringstream in(advert_field(text, "snapshots"));
  std::string n;
  while (std::getline(in, n, ',')) out.push_back(std::strtoull(n.c_str(), nullptr, 10));
  return out;
}

}  // namespace

const char* to_string(node_role r) {
  switch (r) {
    case node_role::starting: return "starting";
    case node_role::standby: return "standby";
    case node_role::replica: return "replica";
    case node_role::primary: return "primary";
  }
  return "starting";
}

// Who leads, as the frames say: the highest epoch seen, its writer and that writer's URL.
struct replication_node::leader_info {
  mutable std::mutex mu;
  uint64_t epoch = 0;
  std::string node_id;
  std::string url;
  // Every node's advertised URL (the registry's), for a leader whose URL no frame since
  // this node started following has carried (a busy primary appends no heartbeat).
  std::map<std::string, std::string> advertised;
  void saw(const frame& f) {
    std::lock_guard lock(mu);
    if (f.kind == frame_kind::genesis || f.epoch < epoch) return;
    if (f.epoch > epoch || node_id != f.node_id) url.clear();
    epoch = f.epoch;
    node_id = std::string(f.node_id);
    if (f.kind == frame_kind::takeover || f.kind == frame_kind::heartbeat) url = std::string(f.body);
  }
};

// One shard's following state. The atomics are written by the tail's thread (delivered,
// last frame), the shard's thread (applied) or the publisher's (applied, on a primary).
struct replication_node::follower {
  uint32_t index = 0;
  std::unique_ptr<stream_positions> positions = std::make_unique<stream_positions>();
  std::unique_ptr<stream_tail> tail;     // mu_
  std::atomic<stream_tail*> current{nullptr};  // `tail`, for its own deliveries
  std::unique_ptr<stream_tail> retired;  // stopped; kept until its engine's tasks are gone
  uint64_t last_seq_at_attach = 0;       // mu_: caught up once applied through it
  std::atomic<uint64_t> applied_seq{0};
  std::atomic<uint64_t> applied_lsn{0};
  std::atomic<uint64_t> delivered_seq{0};
  std::atomic<uint64_t> last_seq{0};
  std::atomic<int64_t> last_frame_ms{0};
  std::atomic<bool> broken{false};  // a frame could not be applied: stop following
};

replication_node::replication_node(node_options options)
    : options_(std::move(options)), leader_(std::make_unique<leader_info>()) {
  for (uint32_t k = 0; k < options_.shards; ++k) {
    shards_.push_back(std::make_unique<follower>());
    shards_.back()->index = k;
  }
  snapshot_seqs_.assign(options_.shards, 0);
}

std::unique_ptr<replication_node> replication_node::start(node_options options, int64_t wait_ms,
                                                          std::string& error) {
  options.instance = random_instance_id();
  if (options.instance.empty()) {
    error = "no random bytes for this process's instance id (getrandom)";
    return nullptr;
  }
  std::fprintf(stderr, "stampede: replication: node %s, instance %s\n", options.node_id.c_str(),
               options.instance.c_str());
  std::unique_ptr<replication_node> node(new replication_node(std::move(options)));
  const node_options& o = node->options_;
  int64_t deadline = monotonic_ms() + wait_ms;
  for (;;) {
    auto c = nats_connection::connect({o.servers, "stampede-" + o.node_id});
    if (c) {
      node->connection_ = std::move(c.value());
      break;
    }
    if (monotonic_ms() > deadline) {
      error = c.err().message;
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  for (uint32_t k = 0; k < o.shards; ++k) {
    node->streams_.push_back(std::make_unique<shard_stream>(*node->connection_, config_of(o, k)));
    for (;;) {
      auto st = node->streams_[k]->ensure();
      if (st) break;
      if (monotonic_ms() > deadline) {
        error = st.err().message;
        return nullptr;
      }
    }
  }
  node->registry_ =
      std::make_unique<node_registry>(*node->connection_, o.cluster, o.replicas, o.advert_ttl_ms);
  node->thread_ = std::thread([p = node.get()] { p->run(); });
  return node;
}

replication_node::~replication_node() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& f : shards_) {
    if (f->tail) f->tail->stop();
  }
}

// ---- Attaching an engine ----

std::string replication_node::attach(engine& eng, const std::vector<wal::snapshot_point>& from,
                                     std::vector<recovered_shard>& logs) {
  std::lock_guard lock(mu_);
  behind_purge_ = false;
  reset_due_ = false;
  role_ = node_role::starting;
  logs.clear();
  for (uint32_t k = 0; k < options_.shards; ++k) {
    follower& f = *shards_[k];
    auto st = streams_[k]->info();
    if (!st) return st.err().message;
    if (from[k].sequence > st->last_seq)
      return "shard " + std::to_string(k) + "'s snapshot covers stream message " +
             std::to_string(from[k].sequence) + ", but " + streams_[k]->name() + " ends at " +
             std::to_string(st->last_seq) + ": the stream lost what this node has";
    if (st->first_seq > from[k].sequence + 1) {
      behind_purge_ = true;
      return streams_[k]->name() + " starts at message " + std::to_string(st->first_seq) +
             ", past this node's snapshot (" + std::to_string(from[k].sequence) + ")";
    }
    // The stream's newest frame names the epoch in force. A node whose snapshot covers the
    // whole stream (every node stopped cleanly, then started) reads nothing after it, and
    // would otherwise take over in epoch 1: epochs only grow (API.md).
    if (st->last_seq > 0)
      if (auto last = streams_[k]->get(st->last_seq))
        if (auto fr = decode_frame(last->data)) leader_->saw(*fr);
    f.retired.reset();  // its engine is gone
    f.retired = std::move(f.tail);
    f.positions = std::make_unique<stream_positions>(from[k].lsn, from[k].sequence);
    f.applied_seq = from[k].sequence;
    f.applied_lsn = from[k].lsn;
    f.delivered_seq = from[k].sequence;
    f.last_seq = st->last_seq;
    f.last_seq_at_attach = st->last_seq;
    f.last_frame_ms = 0;
    f.broken = false;
    logs.push_back(recovered_shard{std::make_unique<follower_log>(from[k].lsn)});
    // A follower records nothing until it takes over (its shard threads are not running yet).
    eng.shard_at(k).set_writable(false);
  }
  waiting_ = replica_ops::waiting_claims(options_.shards);
  engine_ = &eng;
  return "";
}

void replication_node::start_following() {
  std::lock_guard lock(mu_);
  for (uint32_t k = 0; k < options_.shards; ++k) {
    follower& f = *shards_[k];
    f.current.store(nullptr);
    auto deliver = [this, k, eng = engine_, &f](stream_tail::message&& m) {
      f.delivered_seq.store(m.sequence);
      f.last_seq.store(std::max(f.last_seq.load(), m.sequence + m.pending));
      f.last_frame_ms.store(monotonic_ms());
      stream_tail* tail = nullptr;
      while ((tail = f.current.load()) == nullptr) std::this_thread::yield();  // being made
      eng->shard_at(k).post(shard_task{[this, k, tail, m = std::move(m)](shard& s) mutable {
        on_frame(k, s, std::move(m));
        tail->consumed();
      }});
    };
    f.tail = std::make_unique<stream_tail>(*connection_, config_of(options_, k),
                                           f.applied_seq.load() + 1, deliver);
    f.current.store(f.tail.get());
  }
  following_ = true;
  quiet_since_ms_ = monotonic_ms();
  cv_.notify_all();
}

bool replication_node::wait_reset(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return reset_due_ || stop_; });
  return reset_due_;
}

void replication_node::detach() {
  engine* eng = nullptr;
  {
    std::lock_guard lock(mu_);
    following_ = false;
    eng = engine_;
    role_ = node_role::starting;
    for (auto& f : shards_)
      if (f->tail) f->tail->stop();
  }
  if (eng == nullptr) return;
  // What the shards still wait on (answers, releases) will never be durable here: every
  // request waiting answers not_primary; then nothing more is recorded.
  for (uint32_t k = 0; k < options_.shards; ++k)
    on_shard_and_wait(*eng, k, [](shard& s) {
      s.set_writable(false);
      s.abandon_pending();
    });
  std::lock_guard lock(mu_);
  engine_ = nullptr;
}

// ---- Following (a shard's thread) ----

void replication_node::on_frame(uint32_t k, shard& s, stream_tail::message&& m) {
  follower& f = *shards_[k];
  if (f.broken.load() || m.sequence <= f.applied_seq.load()) return;
  // Nothing more is applied on this shard; a node that is only behind (the stream no
  // longer has what it needs) rebuilds from a peer's snapshot.
  auto fail = [&](const std::string& why, bool behind = false) {
    std::fprintf(stderr, "stampede: replication: shard %u, stream message %llu: %s\n", k,
                 static_cast<unsigned long long>(m.sequence), why.c_str());
    f.broken = true;
    if (!behind) return;
    behind_purge_ = true;
    deposed("this node is behind its streams");
  };
  if (m.sequence != f.applied_seq.load() + 1)
    return fail("expected message " + std::to_string(f.applied_seq.load() + 1) +
                    ": the stream was purged past this node",
                true);
  auto fr = decode_frame(m.data);
  if (!fr) return fail("not a frame (corrupt)");
  if (fr->kind == frame_kind::genesis) {
    auto g = decode_genesis(*fr);
    if (!g || g->shard != k || g->shards != options_.shards)
      return fail("the stream was made for another shard count: start with --shards " +
                  std::to_string(g ? g->shards : 0));
  }
  leader_->saw(*fr);
  uint64_t lsn = f.applied_lsn.load();
  if (fr->kind == frame_kind::takeover && fr->last_lsn > lsn)
    return fail("its writer had log records through " + std::to_string(fr->last_lsn) +
                    ", this node through " + std::to_string(lsn),
                true);
  for (size_t at = 0; fr->kind == frame_kind::batch && at < fr->body.size();) {
    auto h = wal::record_at(fr->body, at);
    if (!h) return fail("a corrupt log record in a batch");
    std::string_view payload = fr->body.substr(at + wal::header_size, h->length);
    at += wal::header_size + h->length;
    if (h->sequence <= lsn) continue;  // a snapshot has it
    if (h->sequence != lsn + 1)
      return fail("log record " + std::to_string(h->sequence) + " after " + std::to_string(lsn),
                  true);
    auto e = wal::decode_effect(h->type, payload);
    if (!e) return fail("log record " + std::to_string(h->sequence) + " does not decode");
    replica_ops::apply(s, std::move(*e), h->sequence, waiting_);
    lsn = h->sequence;
  }
  f.applied_lsn.store(lsn);
  f.positions->note(lsn, m.sequence);
  f.applied_seq.store(m.sequence);
}

// ---- The coordinator ----

void replication_node::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(coordinator_period_ms));
    if (stop_) break;
    if (!following_ && role_ != node_role::primary) continue;
    lock.unlock();
    tick(monotonic_ms());
    lock.lock();
  }
}

void replication_node::tick(int64_t now_ms) {
  node_role r = role();
  if (r == node_role::starting) {
    std::lock_guard lock(mu_);
    bool caught_up = following_ && std::all_of(shards_.begin(), shards_.end(), [](const auto& f) {
                       return f->applied_seq.load() >= f->last_seq_at_attach;
                     });
    if (caught_up) {
      role_ = options_.replica_only ? node_role::replica : node_role::standby;
      quiet_since_ms_ = now_ms;
    }
  } else if (r == node_role::standby && should_take_over(now_ms)) {
    take_over();
  }
  if (now_ms >= next_advert_ms_) {
    advertise(now_ms);
    next_advert_ms_ = now_ms + advert_period_ms;
  }
  if (role() == node_role::primary && now_ms >= next_purge_ms_) {
    purge(now_ms);
    next_purge_ms_ = now_ms + purge_period_ms;
  }
}

bool replication_node::should_take_over(int64_t now_ms) {
  int64_t last_heard = quiet_since_ms_;
  for (const auto& f : shards_) {
    if (f->broken.load()) return false;
    // A tail that is not hearing the server cannot tell the primary's silence from its own.
    if (!f->tail || !f->tail->healthy()) {
      quiet_since_ms_ = now_ms;
      return false;
    }
    last_heard = std::max(last_heard, f->last_frame_ms.load());
  }
  if (now_ms - last_heard < options_.takeover_after_ms) return false;
  // Every record delivered is applied (the takeover append checks the rest).
  return std::all_of(shards_.begin(), shards_.end(), [](const auto& f) {
    return f->applied_seq.load() == f->delivered_seq.load();
  });
}

void replication_node::take_over() {
  uint64_t epoch;
  {
    std::lock_guard lock(leader_->mu);
    epoch = leader_->epoch + 1;
  }
  std::vector<uint64_t> seqs(options_.shards, 0);
  int64_t started = monotonic_ms();
  for (uint32_t k = 0; k < options_.shards; ++k) {
    // The first shard decides: whoever appends there first wins (a live primary's heartbeat,
    // or another standby). The others only wait for the old primary to notice.
    int64_t deadline = k == 0 ? started + options_.takeover_after_ms : started + takeover_rest_ms;
    if (!take_shard(k, epoch, deadline, seqs[k])) {
      if (k > 0)
        std::fprintf(stderr, "stampede: replication: took shards 0..%u of %u in epoch %llu, then "
                     "gave up; trying again\n", k - 1, options_.shards,
                     static_cast<unsigned long long>(epoch));
      quiet_since_ms_ = monotonic_ms();
      return;
    }
  }
  if (!become_primary(epoch, seqs)) quiet_since_ms_ = monotonic_ms();
}

bool replication_node::take_shard(uint32_t k, uint64_t epoch, int64_t deadline_ms,
                                  uint64_t& sequence) {
  follower& f = *shards_[k];
  frame_writer w{epoch, options_.node_id, options_.instance};
  std::string id = msg_id(options_.cluster, k, w, 1);
  while (monotonic_ms() < deadline_ms) {
    if (f.applied_seq.load() != f.delivered_seq.load()) {  // the tail brought something
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    uint64_t expected = f.applied_seq.load();
    std::string data = encode_frame(frame_kind::takeover, w, f.applied_lsn.load(), options_.url);
    append_result r = streams_[k]->append(data, expected, id, nats_request_wait_ms);
    if (r.status == append_status::appended) {
      if (r.sequence != expected + 1) return false;  // ours, from an earlier try: start over
      // A duplicate is an earlier try of ours only if the bytes stored are ours (the MsgId
      // has this process's instance id; this also holds against a writer that has not).
      if (r.duplicate) {
        auto there = streams_[k]->get(r.sequence);
        if (there && (there->msg_id != id || there->data != data)) return false;
        if (!there) {  // cannot tell yet: ask again
          std::this_thread::sleep_for(std::chrono::milliseconds(retry_wait_ms));
          continue;
        }
      }
      sequence = r.sequence;
      return true;
    }
    if (r.status == append_status::fenced && k == 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(retry_wait_ms));
  }
  return false;
}

}  // namespace stampede::repl

namespace stampede::repl {

bool replication_node::become_primary(uint64_t epoch, const std::vector<uint64_t>& seqs) {
  engine* eng = nullptr;
  {
    std::lock_guard lock(mu_);
    eng = engine_;
    following_ = false;
    // Nothing more is applied: every shard's stream is ours from here on.
    for (auto& f : shards_) f->tail->stop();
  }
  if (eng == nullptr) return false;
  // Applies already posted run before this (a shard's mailbox is in order).
  std::vector<uint64_t> lsns(options_.shards);
  for (uint32_t k = 0; k < options_.shards; ++k)
    on_shard_and_wait(*eng, k, [&](shard&) { lsns[k] = shards_[k]->applied_lsn.load(); });
  // Reserved and committed exactly as recovery would rebuild them (engine::restore's rule).
  std::promise<result<stock_audit>> audited;
  eng->audit(reply<stock_audit>(boost::asio::system_executor(),
                                [&](result<stock_audit> r) { audited.set_value(std::move(r)); }));
  auto audit = audited.get_future().get();
  if (!audit) return false;
  std::vector<std::unique_ptr<replicated_log>> logs(options_.shards);
  for (uint32_t k = 0; k < options_.shards; ++k) {
    follower& f = *shards_[k];
    shard* s = &eng->shard_at(k);
    replicated_log::hooks h;
    h.published = [this, &f, s](uint64_t, uint64_t seq) {
      f.applied_seq.store(seq);
      f.last_seq.store(seq);
      s->post(shard_task{[](shard&) {}});  // its loop looks at durable_lsn again
    };
    h.fenced = [this, k](std::string why) {
      deposed("shard " + std::to_string(k) + "'s stream has another writer (" + why + ")");
    };
    publisher_position start{epoch, options_.node_id, options_.url, seqs[k], lsns[k], 1,
                             options_.instance};
    auto err = replicated_log::open(
        options_.data_dir, k, options_.segment_bytes, *connection_, config_of(options_, k), start,
        *f.positions, std::move(h),
        [s](uint64_t lsn) { s->post(shard_task{[lsn](shard& t) { t.on_log_synced(lsn); }}); },
        logs[k]);
    if (!err.empty()) {
      std::fprintf(stderr, "stampede: replication: cannot open shard %u's log: %s\n", k, err.c_str());
      return false;
    }
    f.applied_seq.store(seqs[k]);
    f.last_seq.store(seqs[k]);
  }
  rederive_drops(*eng, options_.shards);
  std::string problem;
  for (uint32_t k = 0; k < options_.shards; ++k) {
    on_shard_and_wait(*eng, k, [&, k](shard& s) {
      s.products().clear_counts();
      waiting_.clear(k);  // the audit's counts include what waited
      for (const auto& [id, line] : audit.value())
        if (eng->routes().product_shard(id) == k)
          s.products().add_counts(id, line.held_in_carts, line.in_live_orders);
      if (auto bad = s.products().check_counts(); !bad.empty()) problem = bad;
      s.set_log(std::move(logs[k]));
      s.set_writable(true);
    });
  }
  if (!problem.empty())  // the logs cannot say this; a bug, loud
    std::fprintf(stderr, "stampede: replication: after takeover, %s\n", problem.c_str());
  {
    std::lock_guard lock(leader_->mu);
    leader_->epoch = epoch;
    leader_->node_id = options_.node_id;
    leader_->url = options_.url;
  }
  role_ = node_role::primary;
  ++takeovers_;
  std::fprintf(stderr, "stampede: replication: primary of epoch %llu\n",
               static_cast<unsigned long long>(epoch));
  return true;
}

void replication_node::deposed(const std::string& why) {
  std::lock_guard lock(mu_);
  if (reset_due_) return;
  std::fprintf(stderr, "stampede: replication: %s; this node follows again\n", why.c_str());
  role_ = node_role::starting;  // from now on every change is refused
  reset_due_ = true;
  cv_.notify_all();
}

void replication_node::advertise(int64_t) {
  std::vector<uint64_t> snaps;
  {
    std::lock_guard lock(mu_);
    snaps = snapshot_seqs_;
  }
  auto r = registry_->put(options_.node_id, advert(options_.url, role(), snaps));
  (void)r;  // advisory: the next advert tries again
  if (auto all = registry_->all()) {
    std::lock_guard lock(leader_->mu);
    for (const auto& [node, text] : all.value()) leader_->advertised[node] = advert_field(text, "url");
  }
}

void replication_node::purge(int64_t) {
  auto all = registry_->all();
  if (!all) return;
  std::vector<uint64_t> needed(options_.shards, UINT64_MAX);
  for (const auto& [node, text] : all.value()) {
    auto snaps = advert_snapshots(text);
    for (uint32_t k = 0; k < options_.shards; ++k)
      needed[k] = std::min<uint64_t>(needed[k], k < snaps.size() ? snaps[k] : 0);
  }
  for (uint32_t k = 0; k < options_.shards; ++k) {
    // A node whose snapshot covers message S reads from S + 1.
    if (needed[k] == UINT64_MAX || needed[k] < 2) continue;
    auto st = streams_[k]->info();
    if (!st || st->leader.empty() || st->first_seq >= needed[k] + 1) continue;
    auto r = streams_[k]->purge_below(needed[k] + 1);
    (void)r;  // the next round tries again
  }
}

node_status replication_node::status() const {
  node_status st;
  st.node_id = options_.node_id;
  st.role = role();
  {
    std::lock_guard lock(leader_->mu);
    st.epoch = leader_->epoch;
    st.primary_id = leader_->node_id;
    st.primary_url = leader_->url;
    if (st.primary_url.empty()) {
      auto it = leader_->advertised.find(st.primary_id);
      if (it != leader_->advertised.end()) st.primary_url = it->second;
    }
  }
  for (const auto& f : shards_)
    st.shards.push_back({f->index, f->applied_seq.load(), std::max(f->last_seq.load(),
                                                                   f->applied_seq.load())});
  return st;
}

std::vector<std::string> replication_node::peer_urls() {
  advertise(monotonic_ms());  // the registry's latest
  std::vector<std::string> out;
  std::lock_guard lock(leader_->mu);
  if (leader_->node_id != options_.node_id && !leader_->url.empty()) out.push_back(leader_->url);
  for (const auto& [node, url] : leader_->advertised)
    if (node != options_.node_id && !url.empty() &&
        std::find(out.begin(), out.end(), url) == out.end())
      out.push_back(url);
  return out;
}

uint64_t replication_node::sequence_through(uint32_t shard, uint64_t lsn) const {
  return shards_[shard]->positions->sequence_through(lsn);
}

void replication_node::snapshot_taken(std::vector<uint64_t> sequences) {
  std::lock_guard lock(mu_);
  snapshot_seqs_ = std::move(sequences);
  next_advert_ms_ = 0;  // tell the others soon
}

}  // namespace stampede::repl
