// `stampede`: the command line. For now it runs `stampede demo`, a flash sale against the
// in-memory engine; `stampede serve` (HTTP, API.md) comes with the HTTP server.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "core/engine.h"

namespace {

using namespace stampede;

template <class T, class F>
result<T> wait_for(boost::asio::thread_pool& pool, F&& call) {
  std::promise<result<T>> p;
  auto f = p.get_future();
  call(reply<T>(pool.get_executor(), [&p](result<T> r) { p.set_value(std::move(r)); }));
  return f.get();
}

int demo() {
  constexpr int shoppers = 20'000, on_hand = 300, threads = 4;
  boost::asio::thread_pool pool(2);
  engine eng(engine_config{});
  eng.start();
  std::printf("Stampede engine demo (the HTTP server is not built yet): %u shards\n",
              eng.shard_count());
  struct item {
    const char* id;
    const char* name;
    int64_t price, on_hand, max_per_user;
  };
  const item catalog[] = {{"sneaker-limited", "Limited sneaker", 12999, on_hand, 1},
                          {"hoodie", "Drop hoodie", 5999, 1000, 0},
                          {"cap", "Logo cap", 1999, 5000, 0}};
  for (const auto& it : catalog) {
    product_create c;
    c.id = it.id;
    c.name = it.name;
    c.price = it.price;
    c.on_hand = it.on_hand;
    c.max_per_user = it.max_per_user;
    auto r = wait_for<product_view>(pool, [&](auto done) { eng.create_product(c, std::move(done)); });
    if (!r.ok()) return 1;
    std::printf("  %-16s %-16s %6.2f USD  %5lld on hand\n", it.id, it.name, it.price / 100.0,
                static_cast<long long>(it.on_hand));
  }
  std::printf("%d shoppers race for %d limited sneakers (1 per customer) and check out...\n",
              shoppers, on_hand);
  std::atomic<int> carted{0}, sold{0}, refused{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = t; i < shoppers; i += threads) {
        std::string user = "shopper-" + std::to_string(i);
        auto added = wait_for<idempotent<cart_view>>(pool, [&](auto done) {
          eng.add_item(user, "sneaker-limited", 1, std::nullopt, std::move(done));
        });
        if (!added.ok()) {
          ++refused;
          continue;
        }
        ++carted;
        address a{"", "Ada Shopper", "1 Queue St", "", "Springfield", "", "12345", "US", ""};
        auto adr = wait_for<address>(pool, [&](auto done) { eng.add_address(user, a, std::move(done)); });
        auto placed = wait_for<idempotent<order>>(pool, [&](auto done) {
          eng.place_order(user, checkout_request{adr->id, "", "standard"}, std::nullopt,
                          std::move(done));
        });
        if (placed.ok()) ++sold;
      }
    });
  }
  for (auto& w : workers) w.join();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  auto p = wait_for<product_view>(pool, [&](auto done) { eng.get_product("sneaker-limited", true, std::move(done)); });
  std::printf("  %d carted, %d orders placed, %d told out_of_stock, in %.0f ms\n", carted.load(),
              sold.load(), refused.load(), ms);
  std::printf("  sneaker-limited: on_hand %lld, reserved %lld, committed %lld, available %lld\n",
              static_cast<long long>(p->on_hand), static_cast<long long>(p->reserved),
              static_cast<long long>(p->committed), static_cast<long long>(p->available));
  bool exact = sold.load() == on_hand && p->committed == on_hand && p->available == 0;
  std::printf("%s\n", exact ? "Sold exactly the stock: no oversell." : "MISMATCH");
  eng.stop();
  pool.join();
  return exact ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "demo") == 0) return demo();
  std::printf(
      "usage: stampede demo     run a flash sale against the in-memory engine\n"
      "       (stampede serve, the HTTP server of API.md, is not built yet)\n");
  return argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)
             ? 0
             : 2;
}
