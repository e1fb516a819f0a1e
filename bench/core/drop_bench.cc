// Drops' hot paths in the drop itself, with effects applied as a shard records them (no
// log, no messages): joins after the opening (FIFO) and before it (each ranked by the
// HMAC), ticket reads on a long queue, and the opening of a large pre-queue. The engine's
// figures, through the shards and the log, are in drop_engine_bench. Figures: BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/drop_book.h"

namespace stampede {
namespace {

constexpr int64_t t0_ms = 1'795'000'000'000;
constexpr int64_t opens_ms = t0_ms + 60'000;

struct rig {
  drop_book book;
  admission_signer signer{"bench-secret"};
  drop* d = nullptr;
  std::vector<std::string> users;

  auto emitter() {
    return [this](drop_effect&& e) { book.apply(e); };
  }
  explicit rig(size_t n) {
    drop_definition def;
    def.id = "bench-drop";
    def.product_ids = {"sku-1"};
    def.opens_at_ms = opens_ms;
    auto emit = emitter();
    book.create(def, std::string(32, 's'), t0_ms, emit);
    d = book.find("bench-drop");
    users.reserve(n);
    for (size_t i = 0; i < n; ++i) users.push_back("user-" + std::to_string(i));
  }
};

// Times 200,000 joins at `join_ms`; `opened`: the drop has opened first (FIFO joins), else
// each join is ranked into the pre-queue by its HMAC.
void join_all(benchmark::State& state, bool opened, int64_t join_ms) {
  const size_t n = 200'000;
  for (auto _ : state) {
    state.PauseTiming();
    rig r(n);
    auto emit = r.emitter();
    if (opened) r.d->tick(opens_ms, emit);
    state.ResumeTiming();
    for (const auto& u : r.users) benchmark::DoNotOptimize(r.d->join(u, join_ms, emit));
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

void BM_DropJoinAfterOpening(benchmark::State& state) { join_all(state, true, opens_ms + 1); }
BENCHMARK(BM_DropJoinAfterOpening)->Unit(benchmark::kMillisecond);

void BM_DropJoinBeforeOpening(benchmark::State& state) { join_all(state, false, t0_ms + 1); }
BENCHMARK(BM_DropJoinBeforeOpening)->Unit(benchmark::kMillisecond);

void BM_DropOpeningOfAPreQueue(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    rig r(n);
    auto emit = r.emitter();
    for (const auto& u : r.users) benchmark::DoNotOptimize(r.d->join(u, t0_ms + 1, emit));
    state.ResumeTiming();
    r.d->tick(opens_ms, emit);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}
BENCHMARK(BM_DropOpeningOfAPreQueue)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_DropTicketRead(benchmark::State& state) {
  const size_t n = 200'000;
  rig r(n);
  auto emit = r.emitter();
  r.d->tick(opens_ms, emit);
  for (const auto& u : r.users) benchmark::DoNotOptimize(r.d->join(u, opens_ms + 1, emit));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(r.d->ticket(r.users[i], opens_ms + 2, r.signer));
    i = (i + 7919) % n;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_DropTicketRead);

// The draw at draw_closes_at for N entrants: every entry ranked by its HMAC, winners picked
// while 50 units last.
void BM_DropDrawOf(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const int64_t closes_ms = opens_ms + 60'000;
  for (auto _ : state) {
    state.PauseTiming();
    drop_book book;
    auto emit = [&book](drop_effect&& e) { book.apply(e); };
    drop_definition def;
    def.id = "bench-draw";
    def.product_ids = {"sku-1"};
    def.mode = drop_mode::draw;
    def.opens_at_ms = opens_ms;
    def.draw_closes_at_ms = closes_ms;
    book.create(def, std::string(32, 's'), t0_ms, emit);
    drop* d = book.find("bench-draw");
    d->tick(opens_ms, emit);
    for (size_t i = 0; i < n; ++i)
      benchmark::DoNotOptimize(d->enter("user-" + std::to_string(i), opens_ms + 1, emit));
    d->on_supply("sku-1", product_supply{true, 50, 0, 1});
    state.ResumeTiming();
    benchmark::DoNotOptimize(d->tick(closes_ms, emit));
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}
BENCHMARK(BM_DropDrawOf)->Arg(100'000)->Unit(benchmark::kMillisecond);

// The peer measured in the same run: the least a join could cost, one insert of the same
// user ids into a flat hash map (no order, no log). BENCHMARKS.md gives joins as a ratio.
void BM_PeerHashInsert(benchmark::State& state) {
  const size_t n = 200'000;
  std::vector<std::string> users;
  for (size_t i = 0; i < n; ++i) users.push_back("user-" + std::to_string(i));
  for (auto _ : state) {
    absl::flat_hash_map<std::string, int64_t> seen;
    for (size_t i = 0; i < n; ++i) benchmark::DoNotOptimize(seen.try_emplace(users[i], int64_t(i)));
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}
BENCHMARK(BM_PeerHashInsert)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace stampede

BENCHMARK_MAIN();
