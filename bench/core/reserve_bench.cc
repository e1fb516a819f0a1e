// The engine's hot paths through the real shard queues:
//  - reservations of one hot product: a producer thread posts stock_requests to one shard
//    thread and drains the replies (the producer plays the user shard);
//  - the same on one thread (the shard stepped by the benchmark), for its CPU cost per
//    reservation on a machine too busy for the two-thread figure;
//  - one cross-shard request and reply, one at a time, for the round-trip latency;
//  - checkouts of 3-line carts whose products live on the other of 2 shards.
// Figures and the machine they were measured on: BENCHMARKS.md.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/thread_pool.hpp>

#include "core/catalog_ops.h"
#include "core/engine.h"
#include "core/shard.h"

namespace stampede {
namespace {

using steady = std::chrono::steady_clock;

// One product shard on its own thread, and a mailbox for its replies that the benchmark
// thread drains itself.
struct hot_product_rig {
  router routes{1};
  system_clock time;
  shard product_shard{0, routes, time, shard_config{}};
  mailbox<message> replies{[] {}};
  shard::peers peers{&product_shard.inbox(), &replies};
  std::thread thread;
  boost::asio::thread_pool pool{1};

  // threaded: the shard runs its own loop on a thread; otherwise the caller steps it
  // (shard::step_drain), as the one-thread benchmark does.
  explicit hot_product_rig(bool threaded = true) {
    product_shard.connect(&peers);
    if (threaded) thread = std::thread([this] { product_shard.run(); });
    product_create c;
    c.id = "hot-sneaker";
    c.name = "Hot Sneaker";
    c.price = 12999;
    c.on_hand = 1'000'000'000;
    std::promise<bool> created;
    product_shard.post(shard_task{[&](shard& s) {
      catalog_ops::create_product(s, c, reply<product_view>(pool.get_executor(), [&](result<product_view> r) {
                         created.set_value(r.ok());
                       }));
    }});
    if (!threaded) product_shard.step_drain(1);
    if (!created.get_future().get()) std::abort();
  }
  ~hot_product_rig() {
    product_shard.stop();
    if (thread.joinable()) thread.join();
    pool.join();
  }
  stock_request ask(uint64_t token, bool take) {
    stock_request r;
    r.token = token;
    r.reply_shard = 1;
    r.now_ms = time.now_ms();
    r.asks.push_back(stock_ask{"hot-sneaker", 1, take, 1, 0});
    return r;
  }
};

// The producer sends as a user shard does: a pass's requests in one bulk enqueue.
void BM_HotProductReservations(benchmark::State& state) {
  hot_product_rig rig;
  const int64_t window = state.range(0);  // requests in flight at most
  constexpr size_t pass = 64;             // requests per bulk enqueue
  auto token = rig.product_shard.inbox().make_producer_token();
  std::vector<message> replies(512), outgoing;
  outgoing.reserve(pass);
  int64_t sent = 0, answered = 0, granted = 0;
  auto collect = [&] {
    auto [n, more] = rig.replies.take(replies.data(), replies.size());
    for (size_t i = 0; i < n; ++i) granted += !std::get<stock_reply>(replies[i]).answers[0].refused;
    answered += static_cast<int64_t>(n);
  };
  auto flush = [&] {
    rig.product_shard.inbox().post_bulk(token, outgoing.data(), outgoing.size());
    sent += static_cast<int64_t>(outgoing.size());
    outgoing.clear();
  };
  for (auto _ : state) {
    outgoing.push_back(rig.ask(static_cast<uint64_t>(sent + outgoing.size()), true));
    if (outgoing.size() == pass) {
      while (sent - answered >= window) collect();
      flush();
    }
  }
  flush();
  while (answered < sent) collect();
  if (granted != sent) state.SkipWithError("a reservation was refused");
  state.SetItemsProcessed(sent);
}
BENCHMARK(BM_HotProductReservations)->Arg(4096)->UseRealTime()->MinTime(2.0);

// The same path on one thread, without the hand-off between cores: the benchmark thread
// posts a pass of requests, drains them as the shard's loop would (step_drain) and takes
// the replies. Its CPU time per reservation is the work of both sides, which a busy
// machine disturbs far less than the two-thread figure: compare builds by its cpu column.
void BM_HotProductReservationsOneThread(benchmark::State& state) {
  hot_product_rig rig(false);
  constexpr size_t pass = 64;  // requests per bulk enqueue, as above
  auto token = rig.product_shard.inbox().make_producer_token();
  std::vector<message> replies(pass), outgoing;
  outgoing.reserve(pass);
  int64_t sent = 0, granted = 0;
  auto round_trip = [&] {  // the pass in, through the shard, and its replies out
    rig.product_shard.inbox().post_bulk(token, outgoing.data(), outgoing.size());
    rig.product_shard.step_drain(outgoing.size());
    outgoing.clear();
    auto [n, more] = rig.replies.take(replies.data(), replies.size());
    for (size_t i = 0; i < n; ++i) granted += !std::get<stock_reply>(replies[i]).answers[0].refused;
  };
  for (auto _ : state) {
    outgoing.push_back(rig.ask(static_cast<uint64_t>(sent), true));
    ++sent;
    if (outgoing.size() == pass) round_trip();
  }
  if (!outgoing.empty()) round_trip();
  if (granted != sent) state.SkipWithError("a reservation was refused or unanswered");
  state.SetItemsProcessed(sent);
}
BENCHMARK(BM_HotProductReservationsOneThread)->MinTime(2.0);

void BM_CrossShardRoundTrip(benchmark::State& state) {
  hot_product_rig rig;
  std::vector<message> buf(8);
  std::vector<double> latencies_ns;
  latencies_ns.reserve(1 << 20);
  uint64_t token = 0;
  for (auto _ : state) {
    auto start = steady::now();
    rig.product_shard.post(rig.ask(token++, false));
    for (;;) {
      auto [n, more] = rig.replies.take(buf.data(), buf.size());
      if (n) break;
    }
    latencies_ns.push_back(
        std::chrono::duration<double, std::nano>(steady::now() - start).count());
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto at = [&](double q) { return latencies_ns[static_cast<size_t>(q * (latencies_ns.size() - 1))]; };
  state.counters["p50_us"] = at(0.50) / 1000;
  state.counters["p99_us"] = at(0.99) / 1000;
}
BENCHMARK(BM_CrossShardRoundTrip)->UseRealTime()->MinTime(1.0);

// Picks ids of the form prefix<n> whose owner shard is `on`.
std::vector<std::string> ids_on(const router& r, bool product, uint32_t on, const char* prefix,
                                size_t count) {
  std::vector<std::string> out;
  for (int n = 0; out.size() < count; ++n) {
    std::string id = prefix + std::to_string(n);
    if ((product ? r.product_shard(id) : r.user_shard(id)) == on) out.push_back(id);
  }
  return out;
}

void BM_Checkout3LinesOnOtherShard(benchmark::State& state) {
  const size_t users_per_shard = static_cast<size_t>(state.range(0));
  boost::asio::thread_pool pool{1};
  // Writes are admitted however long they wait: this measures the engine's throughput with
  // 4096 in flight, not the write gate (issue 9), which on a busy machine would refuse some.
  constexpr int64_t write_wait_unbounded_ns = int64_t{3600} * 1'000'000'000;
  engine_config config{2, 600, 900, nullptr, true};
  config.writes = write_gate_config{write_wait_unbounded_ns, write_wait_unbounded_ns};
  engine eng(config);
  eng.start();
  auto wait = [&](auto start_call) {
    std::promise<void> p;
    start_call(&p);
    p.get_future().get();
  };
  // Products of shard 1 for users of shard 0 and the other way round.
  std::vector<std::string> products[2], users[2];
  for (uint32_t s = 0; s < 2; ++s) {
    products[s] = ids_on(eng.routes(), true, s, "sku-", 3);
    users[s] = ids_on(eng.routes(), false, s, "user-", users_per_shard);
    for (const auto& id : products[s]) {
      product_create c;
      c.id = id;
      c.name = "Product " + id;
      c.price = 1000;
      c.on_hand = 1'000'000'000;
      wait([&](std::promise<void>* p) {
        eng.create_product(c, reply<product_view>(pool.get_executor(),
                                                   [p](result<product_view>) { p->set_value(); }));
      });
    }
  }
  // Answers run inline on the user's own shard (asio::dispatch), as the HTTP server's do.
  auto on_user_shard = [&](uint32_t s) { return eng.shard_at(s).io().get_executor(); };
  // At most `window` requests in flight, well under the admission bound.
  constexpr size_t window = 4096;
  std::atomic<size_t> completed{0};
  size_t issued = 0;
  auto throttle = [&] {
    while (issued - completed.load(std::memory_order_acquire) >= window)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  };
  auto drain = [&] {
    while (completed.load(std::memory_order_acquire) < issued)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  };
  // Fill every cart and give every user an address.
  std::vector<std::string> address_of[2];
  for (uint32_t s = 0; s < 2; ++s) {
    address_of[s].resize(users[s].size());
    for (size_t u = 0; u < users[s].size(); ++u) {
      for (const auto& pid : products[1 - s]) {
        throttle();
        ++issued;
        eng.add_item(users[s][u], pid, 1, std::nullopt,
                     reply<idempotent<cart_view>>(on_user_shard(s),
                                                  [&](result<idempotent<cart_view>> r) {
                                                    if (!r.ok()) std::abort();
                                                    completed.fetch_add(1);
                                                  }));
      }
      throttle();
      ++issued;
      address a{"", "Ada", "1 Way", "", "London", "", "N1", "GB", ""};
      eng.add_address(users[s][u], a,
                      reply<address>(on_user_shard(s), [&, s, u](result<address> r) {
                        if (!r.ok()) std::abort();
                        address_of[s][u] = r->id;
                        completed.fetch_add(1);
                      }));
    }
  }
  drain();
  std::atomic<size_t> failed{0};
  for (auto _ : state) {
    auto start = steady::now();
    for (size_t u = 0; u < users_per_shard; ++u) {
      for (uint32_t s = 0; s < 2; ++s) {
        throttle();
        ++issued;
        eng.place_order(users[s][u], checkout_request{address_of[s][u], "", "standard"},
                        std::nullopt,
                        reply<idempotent<order>>(on_user_shard(s),
                                                 [&](result<idempotent<order>> r) {
                                                   if (!r.ok() || r->value.items.size() != 3)
                                                     failed.fetch_add(1);
                                                   completed.fetch_add(1);
                                                 }));
      }
    }
    drain();
    state.SetIterationTime(std::chrono::duration<double>(steady::now() - start).count());
  }
  if (failed.load()) state.SkipWithError("a checkout failed");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * users_per_shard * 2));
  eng.stop();
  pool.join();
}
BENCHMARK(BM_Checkout3LinesOnOtherShard)->Arg(50'000)->Iterations(1)->UseManualTime();

}  // namespace
}  // namespace stampede

BENCHMARK_MAIN();
