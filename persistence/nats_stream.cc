#include "persistence/nats_stream.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "persistence/stream_frame.h"

namespace stampede::repl {

namespace {

constexpr const char* msg_id_header = "Nats-Msg-Id";
// How long the tail thread waits for a message before it looks at its stop flag.
constexpr int64_t tail_poll_ms = 100;
// Between attempts of a tail to subscribe (no stream leader yet, no connection).
constexpr int64_t tail_resubscribe_wait_ms = 250;
// How long ensure() keeps trying while the cluster or a new stream has no leader.
constexpr int64_t stream_ready_wait_ms = 15'000;
// How long a stream being destroyed waits for the acks of its asynchronous publishes.
constexpr int64_t publish_drain_wait_ms = 10'000;

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

error nats_error(std::string what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string msg = std::move(what) + ": " + natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') msg += std::string(" (") + last + ")";
  if (jerr != 0) msg += " [JetStream error " + std::to_string(static_cast<int>(jerr)) + "]";
  return make_error(error_code::io_error, std::move(msg));
}

append_result failure(natsStatus s, jsErrCode jerr, const char* text) {
  append_result r;
  if (s == NATS_TIMEOUT) {
    r.status = append_status::timeout;
  } else if (s == NATS_NO_RESPONDERS) {
    r.status = append_status::no_responders;
  } else if (jerr == JSStreamWrongLastSequenceErr || jerr == JSStreamWrongLastMsgIDErr) {
    r.status = append_status::fenced;
  } else {
    r.status = append_status::failed;
  }
  r.message = text != nullptr && *text != '\0' ? text : natsStatus_GetText(s);
  return r;
}

// A conditional append's options (the strings must outlive the publish).
jsPubOptions chained_options(const std::string& msg_id, uint64_t expected_last_seq,
                             const std::string& expected_last_id, int64_t wait_ms) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();
  po.ExpectLastSeq = expected_last_seq;
  if (!expected_last_id.empty()) po.ExpectLastMsgId = expected_last_id.c_str();
  po.MaxWait = wait_ms;
  return po;
}

std::string header(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr) return "";
  return value;
}

}  // namespace

// ---- Connection ----

struct nats_connection::impl {
  natsConnection* nc = nullptr;
  // Missed server heartbeats, by subscription: the tails' health (error handler thread).
  std::mutex mu;
  std::vector<std::pair<natsSubscription*, std::atomic<int64_t>*>> heartbeat_watch;

  ~impl() {
    if (nc != nullptr) natsConnection_Destroy(nc);
  }
  void watch(natsSubscription* sub, std::atomic<int64_t>* missed_at_ms) {
    std::lock_guard lock(mu);
    heartbeat_watch.emplace_back(sub, missed_at_ms);
  }
  void unwatch(natsSubscription* sub) {
    std::lock_guard lock(mu);
    std::erase_if(heartbeat_watch, [&](const auto& w) { return w.first == sub; });
  }
  static void on_async_error(natsConnection*, natsSubscription* sub, natsStatus s, void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (s != NATS_MISSED_HEARTBEAT && s != NATS_SLOW_CONSUMER) return;
    std::lock_guard lock(self->mu);
    for (auto& [watched, missed_at_ms] : self->heartbeat_watch)
      if (watched == sub) missed_at_ms->store(monotonic_ms());
  }
};

nats_connection::nats_connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
nats_connection::~nats_connection() = default;

result<std::unique_ptr<nats_connection>> nats_connection::connect(const options& opts) {
  auto state = std::make_unique<impl>();
  std::vector<const char*> urls;
  for (const auto& s : opts.servers) urls.push_back(s.c_str());
  natsOptions* o = nullptr;
  natsStatus s = natsOptions_Create(&o);
  if (s == NATS_OK) s = natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK && !opts.name.empty()) s = natsOptions_SetName(o, opts.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, nats_connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);  // forever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, nats_reconnect_wait_ms);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, nats_reconnect_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(o, nats_ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, nats_pings_out_max);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, impl::on_async_error, state.get());
  if (s == NATS_OK) s = natsConnection_Connect(&state->nc, o);
  natsOptions_Destroy(o);
  if (s != NATS_OK) return nats_error("cannot connect to NATS", s);
  return std::unique_ptr<nats_connection>(new nats_connection(std::move(state)));
}

bool nats_connection::connected() const {
  return natsConnection_Status(impl_->nc) == NATS_CONN_STATUS_CONNECTED;
}

std::string stream_name(std::string_view cluster, uint32_t shard) {
  return "STAMPEDE_" + std::string(cluster) + "_" + std::to_string(shard);
}
std::string stream_subject(std::string_view cluster, uint32_t shard) {
  return "stampede." + std::string(cluster) + "." + std::to_string(shard);
}

// ---- Stream ----

struct shard_stream::impl {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ack_handler on_ack;

  ~impl() {
    if (js == nullptr) return;
    // Every asynchronous publish carries a deadline, so its ack or timeout comes; wait for
    // the handlers to have run before the context (and whatever they touch) goes.
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = publish_drain_wait_ms;
    js_PublishAsyncComplete(js, &po);
    jsCtx_Destroy(js);
  }
  // The answer of an asynchronous publish (or its timeout): on a NATS thread.
  static void on_publish_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<impl*>(closure);
    std::string id = header(msg, msg_id_header);
    append_result r;
    if (pa != nullptr) {
      r.status = append_status::appended;
      r.sequence = pa->Sequence;
      r.duplicate = pa->Duplicate;
    } else if (pae != nullptr) {
      r = failure(pae->Err, pae->ErrCode, pae->ErrText);
    }
    natsMsg_Destroy(msg);  // the handler owns it (cnats 3.4)
    if (self->on_ack) self->on_ack(id, std::move(r));
  }
};

shard_stream::shard_stream(nats_connection& connection, stream_config config, ack_handler on_ack)
    : config_(std::move(config)),
      name_(stream_name(config_.cluster, config_.shard)),
      subject_(stream_subject(config_.cluster, config_.shard)),
      impl_(std::make_unique<impl>()) {
  impl_->nc = connection.internals().nc;
  impl_->on_ack = std::move(on_ack);
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = nats_request_wait_ms;
  o.PublishAsync.MaxPending = nats_publishes_pending_max;
  o.PublishAsync.AckHandler = impl::on_publish_ack;
  o.PublishAsync.AckHandlerClosure = impl_.get();
  // Only fails without memory; a null context fails every call below with a message.
  if (natsConnection_JetStream(&impl_->js, impl_->nc, &o) != NATS_OK) impl_->js = nullptr;
}

shard_stream::~shard_stream() = default;

namespace {

stream_state state_of(const jsStreamInfo* si) {
  stream_state st;
  st.first_seq = si->State.FirstSeq;
  st.last_seq = si->State.LastSeq;
  st.messages = si->State.Msgs;
  if (si->Cluster != nullptr && si->Cluster->Leader != nullptr) st.leader = si->Cluster->Leader;
  return st;
}

// What the servers say of stream `name` (a request: blocks up to the context's wait).
result<stream_state> info_of(jsCtx* js, const std::string& name) {
  if (js == nullptr) return make_error(error_code::io_error, "no JetStream context");
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js, name.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return nats_error("stream info of " + name, s, jerr);
  stream_state st = state_of(si);
  jsStreamInfo_Destroy(si);
  return st;
}

}  // namespace

result<stream_state> shard_stream::info() { return info_of(impl_->js, name_); }

result<stream_state> shard_stream::ensure() {
  // A new cluster or a stream just created may have no leader for a few seconds: no
  // responders, timeouts, "temporarily unavailable". Every step is safe to repeat.
  int64_t deadline = monotonic_ms() + stream_ready_wait_ms;
  for (;;) {
    auto st = ensure_once();
    if (st || monotonic_ms() > deadline) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(tail_resubscribe_wait_ms));
  }
}

result<stream_state> shard_stream::ensure_once() {
  if (impl_->js == nullptr) return make_error(error_code::io_error, "no JetStream context");
  auto st = info();
  if (!st) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject_.c_str()};
    cfg.Name = name_.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = static_cast<int64_t>(config_.replicas);
    cfg.Retention = js_LimitsPolicy;
    cfg.Discard = js_DiscardNew;
    cfg.MaxBytes = config_.max_bytes;
    cfg.MaxMsgSize = static_cast<int32_t>(stream_message_bytes_max);
    cfg.Duplicates = config_.duplicates_window_ms * 1'000'000;  // nanoseconds
    cfg.DenyDelete = true;
    cfg.AllowDirect = true;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, impl_->js, &cfg, nullptr, &jerr);
    // Another node may have created it meanwhile: then it is there.
    if (s != NATS_OK && jerr != JSStreamNameExistErr)
      return nats_error("cannot create stream " + name_, s, jerr);
    jsStreamInfo_Destroy(si);
    st = info();
    if (!st) return st;
  }
  if (st->last_seq != 0) return st;
  // Never held a message: the GENESIS frame. Its bytes and MsgId depend on the cluster and
  // shard only, so a node racing us publishes the same message and one of the two is a
  // duplicate (ExpectLastSeq 0 cannot be said).
  std::string genesis = genesis_frame(config_.cluster, config_.shard, config_.shards);
  std::string id = config_.cluster + "." + std::to_string(config_.shard) + ".genesis";
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = id.c_str();
  po.MaxWait = nats_request_wait_ms;
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&pa, impl_->js, subject_.c_str(), genesis.data(),
                            static_cast<int>(genesis.size()), &po, &jerr);
  jsPubAck_Destroy(pa);
  if (s != NATS_OK) return nats_error("cannot append the genesis of " + name_, s, jerr);
  return info();
}

append_result shard_stream::append(std::string_view data, uint64_t expected_last_seq,
                                   const std::string& msg_id, int64_t wait_ms,
                                   const std::string& expected_last_id) {
  if (impl_->js == nullptr || expected_last_seq == 0)
    return append_result{append_status::failed, 0, false, "no context or no expected sequence"};
  jsPubOptions po = chained_options(msg_id, expected_last_seq, expected_last_id, wait_ms);
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&pa, impl_->js, subject_.c_str(), data.data(),
                            static_cast<int>(data.size()), &po, &jerr);
  if (s != NATS_OK) {
    const char* last = nats_GetLastError(nullptr);
    return failure(s, jerr, last);
  }
  append_result r{append_status::appended, pa->Sequence, pa->Duplicate, ""};
  jsPubAck_Destroy(pa);
  return r;
}

bool shard_stream::publish(std::string_view data, uint64_t expected_last_seq,
                           const std::string& msg_id, int64_t wait_ms,
                           const std::string& expected_last_id) {
  if (impl_->js == nullptr || expected_last_seq == 0) return false;
  jsPubOptions po = chained_options(msg_id, expected_last_seq, expected_last_id, wait_ms);
  return js_PublishAsync(impl_->js, subject_.c_str(), data.data(), static_cast<int>(data.size()),
                         &po) == NATS_OK;
}

result<stored_message> shard_stream::get(uint64_t sequence) {
  if (impl_->js == nullptr) return make_error(error_code::io_error, "no JetStream context");
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&msg, impl_->js, name_.c_str(), sequence, nullptr, &jerr);
  if (s != NATS_OK)
    return nats_error("message " + std::to_string(sequence) + " of " + name_, s, jerr);
  stored_message m;
  m.sequence = sequence;
  m.msg_id = header(msg, msg_id_header);
  m.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  return m;
}

result<ok_t> shard_stream::purge_below(uint64_t sequence) {
  if (impl_->js == nullptr) return make_error(error_code::io_error, "no JetStream context");
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Sequence = sequence;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PurgeStream(impl_->js, name_.c_str(), &o, &jerr);
  if (s != NATS_OK) return nats_error("cannot purge " + name_, s, jerr);
  return ok_t{};
}

// ---- Node registry ----

struct node_registry::impl {
  natsConnection* nc = nullptr;
  std::string bucket;
  int replicas = 1;
  int64_t ttl_ms = 0;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;  // bound by ensure()

  ~impl() {
    if (kv != nullptr) kvStore_Destroy(kv);
    if (js != nullptr) jsCtx_Destroy(js);
  }
};

node_registry::node_registry(nats_connection& connection, std::string cluster, int replicas,
                             int64_t ttl_ms)
    : impl_(std::make_unique<impl>()) {
  impl_->nc = connection.internals().nc;
  impl_->bucket = "STAMPEDE_" + cluster + "_nodes";
  impl_->replicas = replicas;
  impl_->ttl_ms = ttl_ms;
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = nats_request_wait_ms;
  if (natsConnection_JetStream(&impl_->js, impl_->nc, &o) != NATS_OK) impl_->js = nullptr;
}

node_registry::~node_registry() = default;

result<ok_t> node_registry::ensure() {
  if (impl_->kv != nullptr) return ok_t{};
  if (impl_->js == nullptr) return make_error(error_code::io_error, "no JetStream context");
  natsStatus s = js_KeyValue(&impl_->kv, impl_->js, impl_->bucket.c_str());
  if (s == NATS_OK) return ok_t{};
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = impl_->bucket.c_str();
  cfg.History = 1;
  cfg.TTL = impl_->ttl_ms * 1'000'000;  // nanoseconds
  cfg.StorageType = js_FileStorage;
  cfg.Replicas = impl_->replicas;
  s = js_CreateKeyValue(&impl_->kv, impl_->js, &cfg);
  if (s != NATS_OK) {
    impl_->kv = nullptr;
    return nats_error("cannot create the key-value bucket " + impl_->bucket, s);
  }
  return ok_t{};
}

result<ok_t> node_registry::put(const std::string& node_id, std::string_view value) {
  if (auto r = ensure(); !r) return r;
  uint64_t revision = 0;
  natsStatus s = kvStore_Put(&revision, impl_->kv, node_id.c_str(), value.data(),
                             static_cast<int>(value.size()));
  if (s != NATS_OK) return nats_error("cannot put " + node_id + " in " + impl_->bucket, s);
  return ok_t{};
}

// The bucket's keys, each once. kvStore_Keys reads the bucket with an ordered consumer and
// stops at the count the server announced; with writes racing it, the server may deliver a
// key twice, and then the count ends the listing before a key it never delivered (seen:
// ["b", "b"] without "a"; nats.go dedupes Keys() for the same reason). So a listing with a
// repeated key is read again, a bounded number of times.
result<std::vector<std::string>> node_registry::keys() {
  std::vector<std::string> out;
  for (int attempt = 0; attempt < registry_listing_attempts_max; ++attempt) {
    kvKeysList listed;
    natsStatus s = kvStore_Keys(&listed, impl_->kv, nullptr);
    if (s == NATS_NOT_FOUND) return std::vector<std::string>{};
    if (s != NATS_OK) return nats_error("cannot list " + impl_->bucket, s);
    out.assign(listed.Keys, listed.Keys + listed.Count);
    kvKeysList_Destroy(&listed);
    std::sort(out.begin(), out.end());
    auto repeated = std::unique(out.begin(), out.end());
    if (repeated == out.end()) break;
    out.erase(repeated, out.end());
  }
  return out;
}

result<std::vector<std::pair<std::string, std::string>>> node_registry::all() {
  if (auto r = ensure(); !r) return r.err();
  auto listed = keys();
  if (!listed) return listed.err();
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& key : listed.value()) {
    kvEntry* e = nullptr;
    if (kvStore_Get(&e, impl_->kv, key.c_str()) != NATS_OK) continue;  // lapsed meanwhile
    out.emplace_back(key, std::string(static_cast<const char*>(kvEntry_Value(e)),
                                      static_cast<size_t>(kvEntry_ValueLen(e))));
    kvEntry_Destroy(e);
  }
  return out;
}

// ---- Tail ----

struct stream_tail::impl {
  nats_connection& connection;
  stream_config config;
  uint64_t next_sequence;  // the tail thread's position
  deliver_handler deliver;
  size_t window;

  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;  // tail thread only
  std::atomic<bool> subscribed{false};
  std::atomic<int64_t> heartbeat_missed_at_ms{0};
  int64_t progress_at_ms = 0;  // tail thread only: subscribed, or last delivered

  std::mutex mu;
  std::condition_variable cv;
  size_t outstanding = 0;  // guarded by mu: delivered, not yet consumed
  bool stop = false;       // guarded by mu
  std::mutex join_mu;      // stop() from two threads joins once
  std::thread thread;

  impl(nats_connection& c, stream_config cfg, uint64_t from, deliver_handler d, size_t w)
      : connection(c),
        config(std::move(cfg)),
        next_sequence(std::max<uint64_t>(from, 1)),
        deliver(std::move(d)),
        window(std::max<size_t>(w, 1)) {}

  bool subscribe();
  void unsubscribe();
  void run();
  // Waits until the window has room; false when stopping. Time spent waiting for the
  // consumer does not count as a quiet stream.
  bool wait_for_room() {
    std::unique_lock lock(mu);
    if (!stop && outstanding >= window) {
      cv.wait(lock, [&] { return stop || outstanding < window; });
      progress_at_ms = monotonic_ms();
    }
    return !stop;
  }
  bool stopping() {
    std::lock_guard lock(mu);
    return stop;
  }
  // Nothing has come for a while, yet the stream holds messages from next_sequence on.
  // Checked once a quiet spell (a stream info request); false when the servers cannot say.
  bool stalled();
};

bool stream_tail::impl::stalled() {
  if (monotonic_ms() - progress_at_ms <= tail_stalled_resubscribe_ms) return false;
  progress_at_ms = monotonic_ms();  // the next check after another quiet spell
  auto st = info_of(js, stream_name(config.cluster, config.shard));
  return st && st->last_seq >= next_sequence;
}

bool stream_tail::impl::subscribe() {
  std::string name = stream_name(config.cluster, config.shard);
  std::string subject = stream_subject(config.cluster, config.shard);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = name.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = next_sequence;
  so.Config.Heartbeat = tail_heartbeat_ms * 1'000'000;  // nanoseconds
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_SubscribeSync(&sub, js, subject.c_str(), nullptr, &so, &jerr) != NATS_OK) {
    sub = nullptr;
    return false;
  }
  natsSubscription_SetPendingLimits(sub, tail_pending_messages_max, tail_pending_bytes_max);
  connection.internals().watch(sub, &heartbeat_missed_at_ms);
  heartbeat_missed_at_ms.store(0);
  progress_at_ms = monotonic_ms();
  subscribed.store(true);
  return true;
}

void stream_tail::impl::unsubscribe() {
  if (sub == nullptr) return;
  subscribed.store(false);
  connection.internals().unwatch(sub);
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  sub = nullptr;
}

void stream_tail::impl::run() {
  while (!stopping()) {
    if (sub == nullptr && !subscribe()) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(tail_resubscribe_wait_ms), [&] { return stop; });
      continue;
    }
    if (!wait_for_room()) break;
    natsMsg* msg = nullptr;
    natsStatus s = natsSubscription_NextMsg(&msg, sub, tail_poll_ms);
    if (s == NATS_TIMEOUT || s == NATS_SLOW_CONSUMER) {
      if (stalled()) unsubscribe();  // the loop starts a new consumer at next_sequence
      continue;
    }
    if (s != NATS_OK) {  // the subscription is gone (closed connection): start again
      unsubscribe();
      continue;
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {  // not a stream message
      natsMsg_Destroy(msg);
      continue;
    }
    message m;
    m.sequence = meta->Sequence.Stream;
    m.pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    m.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    if (m.sequence < next_sequence) continue;  // delivered before a consumer reset
    next_sequence = m.sequence + 1;
    progress_at_ms = monotonic_ms();
    {
      std::lock_guard lock(mu);
      ++outstanding;
    }
    deliver(std::move(m));
  }
  unsubscribe();
}

stream_tail::stream_tail(nats_connection& connection, const stream_config& config,
                         uint64_t from_sequence, deliver_handler deliver, size_t window)
    : impl_(std::make_unique<impl>(connection, config, from_sequence, std::move(deliver), window)) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = nats_request_wait_ms;
  if (natsConnection_JetStream(&impl_->js, connection.internals().nc, &o) != NATS_OK)
    impl_->js = nullptr;
  impl_->thread = std::thread([p = impl_.get()] { p->run(); });
}

stream_tail::~stream_tail() {
  stop();
  if (impl_->js != nullptr) jsCtx_Destroy(impl_->js);
}

void stream_tail::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  std::lock_guard lock(impl_->join_mu);
  if (impl_->thread.joinable()) impl_->thread.join();
}

void stream_tail::consumed(size_t n) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->outstanding -= std::min(n, impl_->outstanding);
  }
  impl_->cv.notify_all();
}

bool stream_tail::healthy() const {
  if (!impl_->subscribed.load() || !impl_->connection.connected()) return false;
  int64_t missed = impl_->heartbeat_missed_at_ms.load();
  return missed == 0 || monotonic_ms() - missed > 2 * tail_heartbeat_ms;
}

}  // namespace stampede::repl
