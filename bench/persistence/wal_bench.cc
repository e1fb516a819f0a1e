// Durability's costs: this machine's fdatasync, and recovery (read the logs, replay every
// effect, rebuild reserved and committed) for a store of a million products and users.
// Figures and the machine: BENCHMARKS.md.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <thread>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <benchmark/benchmark.h>
#include <boost/asio/thread_pool.hpp>

#include "core/engine.h"
#include "persistence/files.h"
#include "persistence/recovery.h"
#include "persistence/snapshot.h"
#include "persistence/wal_format.h"

namespace stampede::wal {
namespace {

std::string bench_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / (std::string("stampede-bench-") + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// One 4 KiB write and its fdatasync, as a group commit of a busy pass does.
void BM_Fdatasync4KiB(benchmark::State& state) {
  std::string path = bench_dir("fsync") + "/f";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string block(4096, 'x');
  off_t at = 0;
  for (auto _ : state) {
    if (::pwrite(fd, block.data(), block.size(), at) != 4096 || ::fdatasync(fd) != 0)
      state.SkipWithError("I/O failed");
    at += 4096;
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fdatasync4KiB)->UseRealTime()->MinTime(2.0);

// The same into a file already zeroed and synced that far, as the log writes now (its
// segments are zeroed ahead of their records): no journal commit for the file's size.
void BM_Fdatasync4KiBIntoZeros(benchmark::State& state) {
  std::string path = bench_dir("fsync-zeros") + "/f";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const size_t zeroed = 64u << 20;
  std::string block(4096, 'x'), zeros(1u << 20, '\0');
  for (size_t at = 0; at < zeroed; at += zeros.size())
    if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(at)) !=
        static_cast<ssize_t>(zeros.size()))
      state.SkipWithError("I/O failed");
  ::fdatasync(fd);
  off_t at = 0;
  for (auto _ : state) {
    if (static_cast<size_t>(at) + 4096 > zeroed) at = 0;  // over again: still no size change
    if (::pwrite(fd, block.data(), block.size(), at) != 4096 || ::fdatasync(fd) != 0)
      state.SkipWithError("I/O failed");
    at += 4096;
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fdatasync4KiBIntoZeros)->UseRealTime()->MinTime(2.0);

// Logs of a store with `products` products and `users` users, each user holding one line
// (what a flash sale's store looks like mid-sale), written as 2 shards would.
std::string write_store(size_t products, size_t users) {
  std::string dir = bench_dir("store");
  router routes(2);
  std::string logs[2];
  uint64_t seq[2] = {0, 0};
  uint64_t first[2] = {1, 1};
  // Segments close past the server's default size, as the writer's would.
  auto append = [&](uint32_t s, const effect& e) {
    if (!append_record(logs[s], ++seq[s], e)) std::abort();
    if (logs[s].size() >= store_options{}.segment_bytes) {
      std::ofstream(segment_path(dir, s, first[s]), std::ios::binary) << logs[s];
      logs[s].clear();
      first[s] = seq[s] + 1;
    }
  };
  for (size_t i = 0; i < products; ++i) {
    product_create c;
    c.id = "sku-" + std::to_string(i);
    c.name = "Product " + std::to_string(i);
    c.price = 1999;
    c.on_hand = 100;
    append(routes.product_shard(c.id), product_created{c});
  }
  for (size_t i = 0; i < users; ++i) {
    std::string user = "user-" + std::to_string(i);
    cart c;
    c.lines.push_back({"sku-" + std::to_string(i % products), "Product", 1999, 1, true});
    c.held_until_ms = 4'000'000'000'000;
    append(routes.user_shard(user), cart_replaced{user, c});
  }
  for (int s = 0; s < 2; ++s)
    std::ofstream(segment_path(dir, s, first[s]), std::ios::binary) << logs[s];
  std::ofstream(dir + "/MANIFEST") << "stampede-data-3 shards 2\n";
  return dir;
}

void BM_RecoverMillionProductsAndUsers(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string dir = write_store(n, n);
  uint64_t records = 0, bytes = 0;
  for (auto _ : state) {
    engine_config cfg;
    cfg.shards = 2;
    cfg.run_timers = false;
    engine eng(cfg);
    data_dir_lock lock;
    recovery_report report;
    auto err = open_data_dir(eng, dir, report, lock);
    if (!err.empty()) state.SkipWithError(err.c_str());
    records = report.records;
    bytes = report.bytes;
    state.counters["seconds_to_ready"] = report.seconds;
    state.counters["replay_seconds"] = report.replay_seconds;
  }
  state.counters["records"] = static_cast<double>(records);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.SetItemsProcessed(static_cast<int64_t>(records * state.iterations()));
}
BENCHMARK(BM_RecoverMillionProductsAndUsers)->Arg(200000)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// The store in `dir` opened on 2 shards and started, with a snapshotter that rounds only
// when asked.
struct running_store {
  explicit running_store(const std::string& dir) : eng(config()) {
    recovery_report report;
    error = open_data_dir(eng, dir, report, lock);
    if (!error.empty()) return;
    eng.start();
    snap = std::make_unique<snapshotter>(eng, dir, *lock.snapshots(), snapshot_options{0, 0});
  }
  ~running_store() {
    snap.reset();
    eng.stop();
  }
  static engine_config config() {
    engine_config cfg;
    cfg.shards = 2;
    cfg.run_timers = false;
    return cfg;
  }
  data_dir_lock lock;  // outlives the engine
  engine eng;
  std::unique_ptr<snapshotter> snap;
  std::string error;
};

// The same store: one snapshot round over all of it (every unit changed), then a restart
// that loads the snapshot and only checks the log it covers (the current segments).
void BM_SnapshotThenRecoverFromIt(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string dir = write_store(n, n);
  const engine_config cfg = running_store::config();
  double snapshot_seconds = 0, snapshot_mb = 0;
  {
    running_store store(dir);
    if (!store.error.empty()) {
      state.SkipWithError(store.error.c_str());
      return;
    }
    snapshotter& snap = *store.snap;
    if (auto err = snap.take(); !err.empty()) state.SkipWithError(err.c_str());
    snapshot_seconds = snap.stats().seconds;
    state.counters["snapshot_write_seconds"] = snap.stats().write_seconds;
    snapshot_mb = static_cast<double>(snap.stats().bytes) / 1e6;
    state.counters["map_grows"] = store.lock.snapshots()->map_grows();
  }
  uint64_t units = 0;
  for (auto _ : state) {
    engine eng(cfg);
    data_dir_lock lock;
    recovery_report report;
    if (auto err = open_data_dir(eng, dir, report, lock); !err.empty()) state.SkipWithError(err.c_str());
    units = report.snapshot_units;
    state.counters["seconds_to_ready"] = report.seconds;
    state.counters["log_records_checked"] = static_cast<double>(report.skipped + report.records);
  }
  state.counters["snapshot_seconds"] = snapshot_seconds;
  state.counters["snapshot_MB"] = snapshot_mb;
  state.counters["units"] = static_cast<double>(units);
  state.SetItemsProcessed(static_cast<int64_t>(units * state.iterations()));
}
BENCHMARK(BM_SnapshotThenRecoverFromIt)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// What a snapshot round costs the requests running beside it: one client thread reads
// products through the engine, one at a time, round trip timed, first with no round, then
// while a round takes all 2M units of the store above. p50, p99 and max, in microseconds.
void BM_RequestLatencyDuringASnapshot(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string dir = write_store(n, n);
  running_store store(dir);
  if (!store.error.empty()) {
    state.SkipWithError(store.error.c_str());
    return;
  }
  engine& eng = store.eng;
  snapshotter& snap = *store.snap;
  boost::asio::thread_pool pool(1);
  auto measure = [&](const std::atomic<bool>& until) {
    std::vector<double> us;
    for (uint64_t i = 0; !until; ++i) {
      std::promise<void> done;
      auto start = std::chrono::steady_clock::now();
      eng.get_product("sku-" + std::to_string(i % n), true,
                      reply<product_view>(pool.get_executor(), [&done](result<product_view>) { done.set_value(); }));
      done.get_future().wait();
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
      if (us.back() > 10'000 && std::getenv("STAMPEDE_BENCH_SLOW"))
        std::fprintf(stderr, "slow request: %.1f ms at %.3f s\n", us.back() / 1000,
                     std::chrono::duration<double>(start.time_since_epoch()).count());
    }
    std::sort(us.begin(), us.end());
    return us;
  };
  auto pct = [](const std::vector<double>& v, double p) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
  };
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::thread timer([&] {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      stop = true;
    });
    auto quiet = measure(stop);
    timer.join();
    std::atomic<bool> done{false};
    std::thread round([&] {
      if (std::getenv("STAMPEDE_BENCH_SLOW"))
        std::fprintf(stderr, "round starts at %.3f s\n",
                     std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count());
      if (auto err = snap.take(); !err.empty()) state.SkipWithError(err.c_str());
      if (std::getenv("STAMPEDE_BENCH_SLOW"))
        std::fprintf(stderr, "round ends at %.3f s (write %.3f s)\n",
                     std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(),
                     snap.stats().write_seconds);
      done = true;
    });
    auto during = measure(done);
    round.join();
    state.counters["quiet_p50_us"] = pct(quiet, 0.5);
    state.counters["quiet_p99_us"] = pct(quiet, 0.99);
    state.counters["quiet_max_us"] = quiet.empty() ? 0 : quiet.back();
    state.counters["during_p50_us"] = pct(during, 0.5);
    state.counters["during_p99_us"] = pct(during, 0.99);
    state.counters["during_max_us"] = during.empty() ? 0 : during.back();
    state.counters["requests_during"] = static_cast<double>(during.size());
    state.counters["round_seconds"] = snap.stats().seconds;
  }
  eng.stop();  // before the pool its answers run on
  pool.join();
}
BENCHMARK(BM_RequestLatencyDuringASnapshot)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace stampede::wal

BENCHMARK_MAIN();
