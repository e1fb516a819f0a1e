#include "persistence/recovery.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/shard.h"
#include "persistence/files.h"
#include "persistence/wal_reader.h"
#include "persistence/wal_writer.h"

namespace stampede::wal {

namespace {

constexpr const char* manifest_format = "stampede-data-3";

std::string errno_text() { return std::strerror(errno); }

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// MANIFEST names the format and the shard count; records are replayed by the shard that
// wrote them, so the count must not change under a data directory.
// "<format> shards N currency C": the shard count must match, and so must the store
// currency when one is given (another would relabel every order and payment already kept;
// API.md: one store currency, set at start-up). A manifest from before the currency was
// kept gets it added.
std::string check_manifest(const std::string& dir, uint32_t shards, const std::string& currency) {
  std::string path = dir + "/MANIFEST";
  std::string kept_currency;
  if (std::ifstream in(path); in) {
    std::string format, shards_word, currency_word;
    uint32_t n = 0;
    in >> format >> shards_word >> n;
    if (format != manifest_format || shards_word != "shards" || n == 0)
      return path + " is not a Stampede manifest of format " + manifest_format;
    if (n != shards)
      return dir + " was written with " + std::to_string(n) + " shards; start with --shards " +
             std::to_string(n);
    if (in >> currency_word >> kept_currency && currency_word != "currency")
      return path + " is not a Stampede manifest of format " + manifest_format;
    if (!kept_currency.empty() && !currency.empty() && kept_currency != currency)
      return dir + " keeps its money in " + kept_currency + "; start with --currency " +
             kept_currency + " (" + currency + " would relabel every order and payment in it)";
    if (!kept_currency.empty() || currency.empty()) return "";
  }
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write " + tmp + ": " + errno_text();
  std::string text = std::string(manifest_format) + " shards " + std::to_string(shards);
  if (!currency.empty()) text += " currency " + currency;
  text += "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0 || !sync_dir(dir))
    return "cannot write " + path + ": " + errno_text();
  return "";
}

// What one shard's recovery found: where its log continues, or what is wrong.
struct shard_recovery {
  std::string error;
  std::string path;            // the segment to append to
  uint64_t valid_bytes = 0;
  uint64_t last_sequence = 0;
  uint64_t snapshot_units = 0;
  uint64_t records = 0, skipped = 0, bytes = 0;
  bool torn_tail = false;
};

// Loads shard i's snapshot, then replays its log segments after the snapshot's position.
shard_recovery recover_shard(const std::string& dir, uint32_t i, shard& s,
                             const snapshot_store& store, size_t units_hint) {
  shard_recovery r;
  const uint64_t covered = store.covered(i);
  auto segments = list_segments(dir, i);
  // Segments whose every record the snapshot has (left by a crash before their deletion).
  size_t from = covered_prefix(segments, covered);
  uint64_t log_size = 0;
  std::error_code ec;
  for (size_t k = from; k < segments.size(); ++k)
    log_size += std::filesystem::file_size(segments[k].path, ec);
  // A record is at least ~40 bytes; most are 60 to 120. Room for one entry per 64 bytes of
  // log, capped, costs 8 bytes a slot in each of three bucket arrays.
  s.reserve_for_replay(std::min<uint64_t>(units_hint + log_size / 64, 16'000'000));
  auto replay = [&s](effect&& e) { s.replay(std::move(e)); };
  if (auto err = store.load(i, replay, r.snapshot_units); !err.empty()) {
    r.error = err;
    return r;
  }
  s.forget_changes();  // what the snapshot holds is not to be written to it again
  if (segments.empty()) {
    if (covered > 0) {
      r.error = "shard " + std::to_string(i) + "'s snapshot covers its log through record " +
                std::to_string(covered) + ", but no log segment of it is left";
      return r;
    }
    r.path = segment_path(dir, i, 1);
    return r;
  }
  if (segments[from].first_sequence > covered + 1) {
    r.error = base_name(segments[from].path) + " starts at record " +
              std::to_string(segments[from].first_sequence) + ", but the snapshot covers only through " +
              std::to_string(covered) + ": a log segment is missing";
    return r;
  }
  for (size_t k = from; k < segments.size(); ++k) {
    const bool last = k + 1 == segments.size();
    read_result rr = read_log(segments[k].path, replay, segments[k].first_sequence, covered);
    if (rr.corruption) {
      r.error = *rr.corruption;
      return r;
    }
    if (!last && rr.torn_tail) {
      r.error = base_name(segments[k].path) + ": corrupt record at offset " +
                std::to_string(rr.valid_bytes) + ", and a later segment follows";
      return r;
    }
    if (!last && rr.last_sequence + 1 != segments[k + 1].first_sequence) {
      r.error = base_name(segments[k].path) + " ends at record " + std::to_string(rr.last_sequence) +
                " but " + base_name(segments[k + 1].path) + " starts at " +
                std::to_string(segments[k + 1].first_sequence);
      return r;
    }
    r.records += rr.records;
    r.skipped += rr.skipped;
    r.bytes += rr.valid_bytes;
    if (last) {
      r.path = segments[k].path;
      r.valid_bytes = rr.valid_bytes;
      r.last_sequence = rr.last_sequence;
      r.torn_tail = rr.torn_tail;
    }
  }
  if (r.last_sequence < covered) {
    r.error = "shard " + std::to_string(i) + "'s log ends at record " +
              std::to_string(r.last_sequence) + ", before the snapshot's position " +
              std::to_string(covered);
  }
  return r;
}

}  // namespace

data_dir_lock::~data_dir_lock() {
  snapshots_.reset();
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

std::string data_dir_lock::open(const std::string& dir, uint32_t shards,
                                const store_options& options) {
  dir_ = dir;
  shards_ = shards;
  std::string why;
  int lock = lock_data_dir(dir, why);  // one process per data directory
  if (lock < 0) return why;
  fd_ = lock;
  if (auto err = check_manifest(dir, shards, options.currency); !err.empty()) return err;
  return snapshot_store::open(dir + "/snapshot", shards, options.snapshot_map_bytes, snapshots_);
}

std::string open_data_dir(engine& eng, const std::string& dir, recovery_report& report,
                          data_dir_lock& held, const store_options& options) {
  auto start = std::chrono::steady_clock::now();
  if (auto err = held.open(dir, eng.shard_count(), options); !err.empty()) return err;
  // Each shard's snapshot and log go to that shard alone, so the shards recover in
  // parallel, one thread each (the shards' own threads are not running yet).
  const snapshot_store& store = *held.snapshots();
  size_t units_hint = store.unit_count() / eng.shard_count();
  std::vector<shard_recovery> found(eng.shard_count());
  std::vector<std::thread> replayers;
  for (uint32_t i = 0; i < eng.shard_count(); ++i)
    replayers.emplace_back(
        [&, i] { found[i] = recover_shard(dir, i, eng.shard_at(i), store, units_hint); });
  for (auto& t : replayers) t.join();
  report.replay_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<recovered_shard> shards(eng.shard_count());
  for (uint32_t i = 0; i < eng.shard_count(); ++i) {
    const shard_recovery& r = found[i];
    if (!r.error.empty()) return "refusing to start: " + r.error + " (in " + dir + ")";
    report.snapshot_units += r.snapshot_units;
    report.records += r.records;
    report.skipped += r.skipped;
    report.bytes += r.bytes;
    report.torn_tails += r.torn_tail;
    shard* owner = &eng.shard_at(i);
    std::unique_ptr<wal_writer> writer;
    auto err = wal_writer::open(
        dir, i, r.path, r.valid_bytes, r.last_sequence, options.segment_bytes,
        [owner](uint64_t lsn) {
          owner->post(shard_task{[lsn](shard& s) { s.on_log_synced(lsn); }});
        },
        writer);
    if (!err.empty()) return err;
    shards[i].log = std::move(writer);
  }
  if (auto err = eng.restore(std::move(shards)); !err.empty())
    return "refusing to start: after replay, " + err;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return "";
}

}  // namespace stampede::wal
