#include "persistence/snapshot.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/shard.h"
#include "persistence/files.h"
#include "persistence/stats.h"
#include "persistence/wal_format.h"

namespace stampede::wal {

durability_stats& durability() {
  static durability_stats s;
  return s;
}

namespace {

constexpr std::string_view format_name = "stampede-snapshot-1";

std::string lmdb_error(const char* what, int rc) {
  return std::string("snapshot: ") + what + ": " + mdb_strerror(rc);
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

std::string shard_prefix(uint32_t shard) {
  return {static_cast<char>(shard >> 24), static_cast<char>(shard >> 16),
          static_cast<char>(shard >> 8), static_cast<char>(shard)};
}

std::string lsn_key(uint32_t shard) { return "lsn/" + std::to_string(shard); }
std::string seq_key(uint32_t shard) { return "seq/" + std::to_string(shard); }
// When the last round was written (Unix ms), so that a restart can still tell its age.
constexpr const char* written_key = "written_ms";

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string u64_bytes(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A thread that writes to a pipe whose reader may go: EPIPE, not the process's death.
void block_sigpipe() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

// Decodes one unit's value; false when any record is cut, fails its CRC or does not decode.
bool decode_unit(std::string_view value, const std::function<void(effect&&)>& on_effect) {
  size_t at = 0;
  uint64_t expected = 1;
  while (at < value.size()) {
    auto h = record_at(value, at);
    if (!h || h->sequence != expected++) return false;
    auto e = decode_effect(h->type, value.substr(at + header_size, h->length));
    if (!e) return false;
    on_effect(std::move(*e));
    at += header_size + h->length;
  }
  return true;
}

}  // namespace

std::string encode_unit(const std::vector<effect>& effects) {
  std::string out;
  uint64_t n = 0;
  // Each of a unit's effects was logged, so it fits a record.
  for (const auto& e : effects) STAMPEDE_CHECK(append_record(out, ++n, e));
  return out;
}

std::string snapshot_store::open(const std::string& dir, uint32_t shards, size_t map_bytes,
                                 std::unique_ptr<snapshot_store>& out) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return "cannot create " + dir + ": " + std::strerror(errno);
  std::unique_ptr<snapshot_store> s(new snapshot_store);
  s->covered_.assign(shards, 0);
  s->sequences_.assign(shards, 0);
  if (int rc = mdb_env_create(&s->env_)) return lmdb_error("mdb_env_create", rc);
  if (int rc = mdb_env_set_maxdbs(s->env_, 2)) return lmdb_error("mdb_env_set_maxdbs", rc);
  if (int rc = mdb_env_set_mapsize(s->env_, map_bytes)) return lmdb_error("mdb_env_set_mapsize", rc);
  if (int rc = mdb_env_open(s->env_, dir.c_str(), 0, 0644))
    return lmdb_error(("cannot open " + dir).c_str(), rc);
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(s->env_, nullptr, 0, &txn)) return lmdb_error("mdb_txn_begin", rc);
  auto fail = [&](const char* what, int rc) {
    mdb_txn_abort(txn);
    return lmdb_error(what, rc);
  };
  if (int rc = mdb_dbi_open(txn, "units", MDB_CREATE, &s->units_)) return fail("units", rc);
  if (int rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta_)) return fail("meta", rc);
  MDB_val key = val("format"), data;
  int rc = mdb_get(txn, s->meta_, &key, &data);
  if (rc == MDB_NOTFOUND) {
    MDB_val name = val(format_name);
    if ((rc = mdb_put(txn, s->meta_, &key, &name, 0))) return fail("format", rc);
  } else if (rc) {
    return fail("format", rc);
  } else if (view(data) != format_name) {
    mdb_txn_abort(txn);
    return dir + " holds snapshots of another format (" + std::string(view(data)) + ")";
  }
  for (uint32_t i = 0; i < shards; ++i) {
    for (auto [name, into] : {std::pair{lsn_key(i), &s->covered_[i]}, std::pair{seq_key(i), &s->sequences_[i]}}) {
      MDB_val lk = val(name);
      rc = mdb_get(txn, s->meta_, &lk, &data);
      if (rc == MDB_NOTFOUND) continue;
      if (rc) return fail("position", rc);
      if (data.mv_size != 8) {
        mdb_txn_abort(txn);
        return dir + ": the position of shard " + std::to_string(i) + " is not 8 bytes";
      }
      *into = load_u64(static_cast<const char*>(data.mv_data));
    }
  }
  // The snapshot's age counts from its last round, also across restarts. A store written
  // before rounds recorded their time has its file's time instead.
  MDB_val wk = val(written_key);
  rc = mdb_get(txn, s->meta_, &wk, &data);
  int64_t written = 0;
  if (rc == 0 && data.mv_size == 8) {
    written = static_cast<int64_t>(load_u64(static_cast<const char*>(data.mv_data)));
  } else if (rc == MDB_NOTFOUND || rc == 0) {
    struct stat st {};
    bool any = std::any_of(s->covered_.begin(), s->covered_.end(), [](uint64_t c) { return c > 0; });
    if (any && ::stat((dir + "/data.mdb").c_str(), &st) == 0)
      written = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  } else {
    return fail("written_ms", rc);
  }
  if ((rc = mdb_txn_commit(txn))) return lmdb_error("mdb_txn_commit", rc);
  if (written > durability().last_snapshot_unix_ms.load()) durability().last_snapshot_unix_ms = written;
  out = std::move(s);
  return "";
}

snapshot_store::~snapshot_store() {
  {
    std::lock_guard lock(copies_mu_);
    for (auto& t : copies_) t.join();
  }
  if (env_) mdb_env_close(env_);
}

void snapshot_store::copy_to(int fd, std::function<std::string(uint64_t bytes)> trailer) {
  // mdb_env_copyfd2 writes to a descriptor and says nothing of how much: it writes into a
  // pipe of ours, relayed to `fd` with a count, so the trailer can say how long it was.
  int inner[2];
  if (::pipe2(inner, O_CLOEXEC) != 0) {
    ::close(fd);
    return;
  }
  auto ok = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard lock(copies_mu_);
  copies_.emplace_back([this, w = inner[1], ok] {
    block_sigpipe();
    ok->store(mdb_env_copyfd2(env_, w, MDB_CP_COMPACT) == 0);
    ::close(w);
  });
  copies_.emplace_back([r = inner[0], fd, ok, trailer = std::move(trailer)] {
    block_sigpipe();
    char buf[64 * 1024];
    uint64_t bytes = 0;
    bool out_ok = true;
    for (;;) {
      ssize_t n = ::read(r, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      bytes += static_cast<uint64_t>(n);
      out_ok = out_ok && write_all(fd, buf, static_cast<size_t>(n));  // keep draining the copy
    }
    ::close(r);
    if (out_ok && ok->load()) {
      std::string t = trailer(bytes);
      write_all(fd, t.data(), t.size());
    }
    ::close(fd);
  });
}

uint64_t snapshot_store::unit_count() const {
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn)) return 0;
  MDB_stat st{};
  mdb_stat(txn, units_, &st);
  mdb_txn_abort(txn);
  return st.ms_entries;
}

size_t snapshot_store::map_bytes() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

std::string snapshot_store::load(uint32_t shard, const std::function<void(effect&&)>& on_effect,
                                 uint64_t& units) const {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn)) return lmdb_error("read", rc);
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, units_, &cursor)) {
    mdb_txn_abort(txn);
    return lmdb_error("cursor", rc);
  }
  std::string prefix = shard_prefix(shard);
  MDB_val key = val(prefix), data;
  std::string err;
  for (int rc = mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE); ;
       rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) {
    if (rc == MDB_NOTFOUND) break;
    if (rc) {
      err = lmdb_error("read", rc);
      break;
    }
    std::string_view k = view(key);
    if (k.substr(0, 4) != prefix) break;
    if (!decode_unit(view(data), on_effect)) {
      err = "snapshot: unit '" + std::string(k.substr(4)) + "' of shard " + std::to_string(shard) +
            " is corrupt";
      break;
    }
    ++units;
  }
  mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  return err;
}

std::string snapshot_store::write(const std::vector<shard_part>& parts) {
  for (;;) {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn)) return lmdb_error("mdb_txn_begin", rc);
    int rc = 0;
    std::string key;
    for (uint32_t i = 0; i < parts.size() && rc == 0; ++i) {
      for (const auto& [unit, value] : parts[i].units) {
        key = shard_prefix(i) + unit;
        MDB_val k = val(key), v = val(value);
        if ((rc = mdb_put(txn, units_, &k, &v, 0))) break;
      }
      if (rc == 0) {
        std::string lk = lsn_key(i), lv = u64_bytes(parts[i].covered);
        MDB_val k = val(lk), v = val(lv);
        rc = mdb_put(txn, meta_, &k, &v, 0);
      }
      if (rc == 0 && parts[i].sequence != 0) {
        std::string sk = seq_key(i), sv = u64_bytes(parts[i].sequence);
        MDB_val k = val(sk), v = val(sv);
        rc = mdb_put(txn, meta_, &k, &v, 0);
      }
    }
    if (rc == 0) {
      std::string wv = u64_bytes(static_cast<uint64_t>(unix_ms_now()));
      MDB_val k = val(written_key), v = val(wv);
      rc = mdb_put(txn, meta_, &k, &v, 0);
    }
    if (rc == 0) {
      rc = mdb_txn_commit(txn);  // frees the transaction, whatever it returns
    } else {
      mdb_txn_abort(txn);
    }
    if (rc == MDB_MAP_FULL) {
      // No transaction is open now, so the map may grow; then write the whole round again.
      // Room for what is there and three times this round (pages, branches, free lists),
      // so one retry is enough.
      MDB_envinfo info;
      MDB_stat st;
      mdb_env_info(env_, &info);
      mdb_env_stat(env_, &st);
      size_t round = 0;
      for (const auto& part : parts)
        for (const auto& [unit, value] : part.units) round += unit.size() + value.size() + 16;
      size_t used = (info.me_last_pgno + 1) * static_cast<size_t>(st.ms_psize);
      size_t bigger = std::max(info.me_mapsize * 2, used + 3 * round);
      if (int grow = mdb_env_set_mapsize(env_, bigger)) return lmdb_error("grow the map", grow);
      ++grows_;
      continue;
    }
    if (rc) return lmdb_error("write", rc);
    break;
  }
  if (int rc = mdb_env_sync(env_, 1)) return lmdb_error("mdb_env_sync", rc);
  for (uint32_t i = 0; i < parts.size(); ++i) {
    covered_[i] = parts[i].covered;
    if (parts[i].sequence != 0) sequences_[i] = parts[i].sequence;
  }
  return "";
}

// ---------------------------------------------------------------------------------------

snapshotter::snapshotter(engine& eng, std::string dir, snapshot_store& store,
                         snapshot_options options)
    : eng_(eng), dir_(std::move(dir)), store_(store), options_(options) {}

snapshotter::~snapshotter() { stop(); }

void snapshotter::start() { thread_ = std::thread([this] { loop(); }); }

void snapshotter::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

snapshot_stats snapshotter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void snapshotter::units(uint32_t shard, std::vector<snapshot_unit>&& chunk) {
  events_.enqueue(event{shard, std::move(chunk), std::nullopt});
}

void snapshotter::covered(uint32_t shard, uint64_t lsn) {
  events_.enqueue(event{shard, {}, lsn});
}

void snapshotter::loop() {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  uint64_t base = log_bytes(dir_);
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(
                           options_.interval_ms > 0 ? std::min<int64_t>(1000, options_.interval_ms / 4) : 1000));
    if (stop_) break;
    bool due = options_.interval_ms > 0 &&
               clock::now() - last >= std::chrono::milliseconds(options_.interval_ms);
    uint64_t bytes = log_bytes(dir_);
    if (!due && (options_.log_bytes == 0 || bytes < base + options_.log_bytes)) continue;
    lock.unlock();
    std::string err = take();
    if (!err.empty()) {
      std::fprintf(stderr, "stampede: snapshot failed: %s\n", err.c_str());
    } else {
      auto st = stats();
      std::fprintf(stderr, "stampede: snapshot: %llu units (%.1f MB) in %.3f s\n",
                   static_cast<unsigned long long>(st.units), static_cast<double>(st.bytes) / 1e6,
                   st.seconds);
    }
    last = clock::now();
    base = log_bytes(dir_);
    lock.lock();
  }
}

std::string snapshotter::take(std::function<void(shard&)> after_begin) {
  std::lock_guard round(round_mu_);
  {
    std::lock_guard lock(mu_);
    if (stop_) return "stopped";
  }
  auto start = std::chrono::steady_clock::now();
  const uint32_t n = eng_.shard_count();
  std::vector<snapshot_store::shard_part> parts(n);
  for (uint32_t i = 0; i < n; ++i)
    eng_.shard_at(i).post(shard_task{[this, after_begin](shard& s) {
      s.begin_snapshot(this);
      if (after_begin) after_begin(s);
    }});
  uint32_t remaining = n;
  uint64_t units = 0, bytes = 0;
  std::vector<event> batch(64);
  while (remaining > 0) {
    size_t got = events_.try_dequeue_bulk(batch.begin(), batch.size());
    if (got == 0) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return "stopped during a snapshot";
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    for (size_t j = 0; j < got; ++j) {
      event& e = batch[j];
      auto& part = parts[e.shard];
      if (e.covered) {
        part.covered = *e.covered;
        --remaining;
      }
      for (auto& u : e.units) {
        part.units.emplace_back(std::move(u.key), encode_unit(u.effects));
        bytes += part.units.back().second.size();
        ++units;
      }
      e = event{};
    }
  }
  auto collected = std::chrono::steady_clock::now();
  // In key order, each insert lands next to the last one in the B-tree.
  for (auto& part : parts)
    std::sort(part.units.begin(), part.units.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  if (options_.stream_sequence)
    for (uint32_t i = 0; i < n; ++i) parts[i].sequence = options_.stream_sequence(i, parts[i].covered);
  if (auto err = store_.write(parts); !err.empty()) return err;
  if (options_.taken) {
    std::vector<uint64_t> sequences;
    for (uint32_t i = 0; i < n; ++i) sequences.push_back(store_.covered_sequence(i));
    options_.taken(sequences);
  }
  double write_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - collected).count();
  uint64_t deleted = 0;
  for (uint32_t i = 0; i < n; ++i) {
    auto segments = list_segments(dir_, i);
    size_t k = covered_prefix(segments, parts[i].covered);
    for (size_t j = 0; j < k; ++j)
      if (::unlink(segments[j].path.c_str()) == 0) ++deleted;
  }
  if (deleted > 0 && !sync_dir(dir_)) return "cannot sync " + dir_ + ": " + std::strerror(errno);
  durability().last_snapshot_unix_ms = unix_ms_now();
  ++durability().snapshots;
  durability().segments_deleted += deleted;
  std::lock_guard lock(mu_);
  ++stats_.rounds;
  stats_.units = units;
  stats_.bytes = bytes;
  stats_.segments_deleted += deleted;
  stats_.write_seconds = write_seconds;
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return "";
}

}  // namespace stampede::wal
