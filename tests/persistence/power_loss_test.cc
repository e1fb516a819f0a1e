// Simulated power loss (kill -9 keeps the page cache, so it cannot show a missing sync).
// Every shard's log sits on a device that keeps two things: what was synced, and what was
// only written. At a chosen sync, counted over all devices, the power goes. Each device
// keeps its synced bytes plus what the failure mode leaves of the rest (nothing, a prefix,
// garbage, or zeros), and no write or sync succeeds after that. Recovery from those images
// must keep every change that was acknowledged, or refuse to start with a corruption
// error; it must never silently lose one. Like SQLite's crash-test file system.
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <future>
#include <random>

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/shard.h"
#include "persistence/files.h"
#include "persistence/recovery.h"
#include "persistence/wal_writer.h"
#include "tests/persistence/power_grid.h"

namespace stampede::wal {
namespace {

constexpr int shards = 2;
const std::vector<std::string> products{"p0", "p1", "p2"};

struct acknowledged {
  std::vector<std::string> products;
  std::map<std::string, std::pair<std::string, order_status>> orders;  // id -> (user, status)
};

// Runs a workload on an engine whose logs live on `grid` until the power goes (or the work
// is done), and returns what was acknowledged.
acknowledged run_until_the_power_goes(power_grid& grid, unsigned seed) {
  manual_clock clock;
  engine_config cfg{shards, 600, 900, &clock, false};
  cfg.user_requests_per_s = 0;
  engine eng(cfg);
  std::vector<recovered_shard> logs(shards);
  for (int i = 0; i < shards; ++i) {
    shard* owner = &eng.shard_at(static_cast<uint32_t>(i));
    logs[static_cast<size_t>(i)].log = std::make_unique<wal_writer>(
        std::make_unique<grid_device>(grid, i), 0,
        [owner](uint64_t lsn) { owner->post(shard_task{[lsn](shard& s) { s.on_log_synced(lsn); }}); },
        [](const char*) {});  // a dead device: the writer just stops acknowledging
  }
  EXPECT_EQ(eng.restore(std::move(logs)), "");
  eng.start();
  boost::asio::thread_pool pool(1);
  acknowledged acked;
  // Waits for an answer; none comes for a change whose sync the power cut.
  auto wait = [&](auto fut) -> std::optional<decltype(fut.get())> {
    for (int i = 0; i < 2000; ++i) {
      if (fut.wait_for(std::chrono::milliseconds(1)) == std::future_status::ready) return fut.get();
      if (grid.cut() && i > 30) return std::nullopt;
    }
    ADD_FAILURE() << "no answer without a power cut";
    return std::nullopt;
  };
  std::mt19937 rng(seed);
  bool alive = true;
  for (const auto& id : products) {
    product_create c{id, "P " + id, "", 100, {}, 50};
    auto p = std::make_shared<std::promise<result<product_view>>>();
    eng.create_product(c, reply<product_view>(pool.get_executor(), [p](result<product_view> r) { p->set_value(std::move(r)); }));
    auto r = wait(p->get_future());
    if (!r) {
      alive = false;
      break;
    }
    if (r->ok()) acked.products.push_back(id);
  }
  std::vector<std::pair<std::string, std::string>> users;  // (user, address)
  for (int op = 0; alive && op < 60; ++op) {
    std::string user = "u" + std::to_string(rng() % 6);
    int what = static_cast<int>(rng() % 10);
    if (what < 4) {
      auto p = std::make_shared<std::promise<result<idempotent<cart_view>>>>();
      eng.add_item(user, products[rng() % products.size()], 1, std::nullopt,
                   reply<idempotent<cart_view>>(pool.get_executor(), [p](auto r) { p->set_value(std::move(r)); }));
      alive = wait(p->get_future()).has_value();
    } else if (what < 7) {
      auto pa = std::make_shared<std::promise<result<address>>>();
      eng.add_address(user, address{"", "N", "L", "", "C", "", "1", "GB", ""},
                      reply<address>(pool.get_executor(), [pa](auto r) { pa->set_value(std::move(r)); }));
      auto a = wait(pa->get_future());
      if (!a) break;
      auto po = std::make_shared<std::promise<result<idempotent<order>>>>();
      eng.place_order(user, checkout_request{(*a)->id, "", "standard"}, std::nullopt,
                      reply<idempotent<order>>(pool.get_executor(), [po](auto r) { po->set_value(std::move(r)); }));
      auto o = wait(po->get_future());
      if (!o) break;
      if (o->ok()) acked.orders[(*o)->value.id] = {user, order_status::pending};
    } else if (!acked.orders.empty()) {
      auto it = acked.orders.begin();
      std::advance(it, static_cast<long>(rng() % acked.orders.size()));
      const std::string id = it->first;
      const std::string owner = it->second.first;
      auto pc = std::make_shared<std::promise<result<order>>>();
      if (what == 7) {
        payment_request pr{"card", 0, {"4242424242424242", 12, 2030, "123"}};
        auto got = std::make_shared<std::promise<result<order>>>();
        eng.get_order(id, owner, false, reply<order>(pool.get_executor(), [got](auto r) { got->set_value(std::move(r)); }));
        auto cur = wait(got->get_future());
        if (!cur) break;
        if (!cur->ok()) continue;
        pr.amount = (*cur)->total;
        auto pp = std::make_shared<std::promise<result<idempotent<payment_result>>>>();
        eng.pay_order(id, owner, pr, std::nullopt,
                      reply<idempotent<payment_result>>(pool.get_executor(), [pp](auto r) { pp->set_value(std::move(r)); }));
        auto paid = wait(pp->get_future());
        if (!paid) break;
        if (paid->ok() && (*paid)->value.order_now.status == order_status::paid)
          acked.orders[id].second = order_status::paid;
      } else {
        eng.cancel_order(id, owner, false, reply<order>(pool.get_executor(), [pc](auto r) { pc->set_value(std::move(r)); }));
        auto c = wait(pc->get_future());
        if (!c) break;
        if (c->ok()) acked.orders[id].second = order_status::canceled;
      }
    }
  }
  eng.stop();
  pool.join();
  return acked;
}

bool may_become(order_status acked, order_status found) {
  if (acked == order_status::canceled) return found == order_status::canceled;
  if (acked == order_status::paid) return found == order_status::paid || found == order_status::canceled;
  return found == order_status::pending || found == order_status::paid ||
         found == order_status::canceled;
}

TEST(PowerLoss, EveryAcknowledgedChangeSurvivesACutAtEverySyncInEveryFailureMode) {
  int cuts = 0, recovered = 0, refused = 0;
  for (int cut_at = 1; cut_at <= 70; ++cut_at) {
    for (loss mode : {loss::drop, loss::prefix, loss::garble, loss::zeros, loss::holes}) {
      SCOPED_TRACE(std::string("cut at sync ") + std::to_string(cut_at) + ", " + name(mode));
      unsigned seed = static_cast<unsigned>(cut_at * 7 + static_cast<int>(mode));
      power_grid grid(shards, cut_at, mode, seed);
      acknowledged acked = run_until_the_power_goes(grid, seed);
      if (!grid.cut()) continue;  // the work ended before this sync
      ++cuts;
      auto dir = std::filesystem::path(::testing::TempDir()) / ("power-" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      for (int i = 0; i < shards; ++i)
        std::ofstream(segment_path(dir.string(), i, 1), std::ios::binary) << grid.image(i);
      std::ofstream(dir / "MANIFEST") << "stampede-data-3 shards " << shards << "\n";
      manual_clock clock;
      engine_config cfg{shards, 600, 900, &clock, false};
      cfg.user_requests_per_s = 0;
      engine eng(cfg);
      data_dir_lock lock;
      recovery_report report;
      std::string err = open_data_dir(eng, dir.string(), report, lock);
      if (!err.empty()) {
        // Refusing is allowed, silently losing is not; it must say why. A block the last
        // write never reached is a torn write, not corruption: refusing it is not allowed.
        EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
        EXPECT_NE(mode, loss::holes) << err;
        ++refused;
        continue;
      }
      ++recovered;
      eng.start();
      boost::asio::thread_pool pool(1);
      for (const auto& id : acked.products) {
        std::promise<result<product_view>> p;
        eng.get_product(id, true, reply<product_view>(pool.get_executor(), [&p](auto r) { p.set_value(std::move(r)); }));
        auto r = p.get_future().get();
        ASSERT_TRUE(r.ok()) << "acknowledged product " << id << " is gone";
        EXPECT_LE(r->reserved + r->committed, r->on_hand);
      }
      for (const auto& [id, who] : acked.orders) {
        std::promise<result<order>> p;
        eng.get_order(id, who.first, false, reply<order>(pool.get_executor(), [&p](auto r) { p.set_value(std::move(r)); }));
        auto r = p.get_future().get();
        ASSERT_TRUE(r.ok()) << "acknowledged order " << id << " is gone";
        EXPECT_TRUE(may_become(who.second, r->status))
            << id << " acknowledged " << to_string(who.second) << ", found " << to_string(r->status);
      }
      eng.stop();
      pool.join();
    }
  }
  std::printf("power loss: %d cuts, %d recovered and checked, %d refused as corrupt\n", cuts,
              recovered, refused);
  std::filesystem::remove_all(std::filesystem::path(::testing::TempDir()) /
                              ("power-" + std::to_string(::getpid())));
  EXPECT_GT(cuts, 150);
}

}  // namespace
}  // namespace stampede::wal
