// A replicating node's side of recovery (recovery.h): the snapshots only, the local log set
// aside; and a peer's snapshot store taking the place of this node's own (seeding).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/shard.h"
#include "persistence/files.h"
#include "persistence/recovery.h"

namespace stampede::wal {

namespace {

constexpr const char* set_aside_dir = "set-aside";

// Moves every log segment of every shard to <dir>/set-aside/, emptied first.
std::string set_aside_logs(const std::string& dir, uint32_t shards) {
  std::string aside = dir + "/" + set_aside_dir;
  bool any = false;
  for (uint32_t i = 0; i < shards && !any; ++i) any = !list_segments(dir, i).empty();
  if (!any) return "";
  std::error_code ec;
  std::filesystem::remove_all(aside, ec);
  if (!std::filesystem::create_directories(aside, ec) && ec)
    return "cannot create " + aside + ": " + ec.message();
  for (uint32_t i = 0; i < shards; ++i) {
    for (const auto& seg : list_segments(dir, i)) {
      std::string to = aside + "/" + std::filesystem::path(seg.path).filename().string();
      if (::rename(seg.path.c_str(), to.c_str()) != 0)
        return "cannot move " + seg.path + " aside: " + std::strerror(errno);
    }
  }
  if (!sync_dir(dir) || !sync_dir(aside)) return "cannot sync " + dir + ": " + std::strerror(errno);
  return "";
}

}  // namespace

std::string load_snapshots(engine& eng, data_dir_lock& lock, std::vector<snapshot_point>& from,
                           recovery_report& report) {
  auto start = std::chrono::steady_clock::now();
  const snapshot_store& store = *lock.snapshots();
  const uint32_t n = eng.shard_count();
  std::vector<std::string> errors(n);
  std::vector<uint64_t> units(n, 0);
  size_t units_hint = store.unit_count() / n;
  std::vector<std::thread> loaders;
  for (uint32_t i = 0; i < n; ++i)
    loaders.emplace_back([&, i] {
      shard& s = eng.shard_at(i);
      s.reserve_for_replay(units_hint);
      errors[i] = store.load(i, [&s](effect&& e) { s.replay(std::move(e)); }, units[i]);
      s.forget_changes();  // what the snapshot holds is not to be written to it again
    });
  for (auto& t : loaders) t.join();
  from.assign(n, snapshot_point{});
  for (uint32_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) return "refusing to start: " + errors[i];
    report.snapshot_units += units[i];
    from[i] = snapshot_point{store.covered(i), store.covered_sequence(i)};
  }
  if (auto err = set_aside_logs(lock.dir(), n); !err.empty()) return err;
  report.seconds = report.replay_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return "";
}

std::string data_dir_lock::replace_snapshots(const std::string& copy, const store_options& options) {
  std::string live = dir_ + "/snapshot", aside = dir_ + "/" + set_aside_dir + "/snapshot";
  snapshots_.reset();  // closes the environment
  std::error_code ec;
  std::filesystem::remove_all(aside, ec);
  std::filesystem::create_directories(aside, ec);
  for (const char* f : {"data.mdb", "lock.mdb"}) {
    std::string p = live + "/" + f;
    if (::access(p.c_str(), F_OK) == 0 && ::rename(p.c_str(), (aside + "/" + f).c_str()) != 0)
      return "cannot move " + p + " aside: " + std::strerror(errno);
  }
  if (::rename(copy.c_str(), (live + "/data.mdb").c_str()) != 0)
    return "cannot put the seed in " + live + ": " + std::strerror(errno);
  if (!sync_dir(live)) return "cannot sync " + live + ": " + std::strerror(errno);
  return snapshot_store::open(live, shards_, options.snapshot_map_bytes, snapshots_);
}

}  // namespace stampede::wal
