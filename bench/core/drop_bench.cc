// Drops' hot paths in the drop itself, with effects applied as a shard records them (no
// log, no messages): joins after the opening (FIFO) and before it (each ranked by the
// HMAC), ticket reads on a long queue, and the opening of a large pre-queue. The engine's
// figures, through the shards and the log, are in drop_engine_bench. Figures: BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

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

void BM_DropJoinAfterOpening(benchmark::State& state) {
  const size_t n = 200'000;
  for (auto _ : state) {
    state.PauseTiming();
    rig r(n);
    auto emit = r.emitter();
    r.d->tick(opens_ms, emit);
    state.ResumeTiming();
    for (const auto& u : r.users) benchmark::DoNotOptimize(r.d->join(u, opens_ms + 1, emit));
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}
BENCHMARK(BM_DropJoinAfterOpening)->Unit(benchmark::kMillisecond);

void BM_DropJoinBeforeOpening(benchmark::State& state) {
  const size_t n = 200'000;
  for (auto _ : state) {
    state.PauseTiming();
    rig r(n);
    auto emit = r.emitter();
    state.ResumeTiming();
    for (const auto& u : r.users) benchmark::DoNotOptimize(r.d->join(u, t0_ms + 1, emit));
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}
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

}  // namespace
}  // namespace stampede

BENCHMARK_MAIN();
