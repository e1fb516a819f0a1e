// Recovery: a store reopened from its write-ahead logs is the store that was closed, for
// random workloads on 4 shards; and the stock counts are rebuilt from carts and orders.
#include "persistence/recovery.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede::wal {
namespace {

std::string fresh_dir(const char* name) {
  auto dir = std::filesystem::path(::testing::TempDir()) /
             (std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// An engine on a manual clock opened on `dir`.
struct durable_store {
  durable_store(const std::string& dir, manual_clock& clock) : eng(config(clock)) {
    recovery_report report;
    error = open_data_dir(eng, dir, report, lock);
    records = report.records;
    if (error.empty()) eng.start();
  }
  ~durable_store() {
    eng.stop();
    pool.join();
  }
  static engine_config config(manual_clock& clock) {
    engine_config c{4, 600, 900, &clock, false};
    c.user_requests_per_s = 0;  // the manual clock never refills a bucket
    return c;
  }
  template <class T, class F>
  result<T> call(F&& f) {
    std::promise<result<T>> p;
    auto answer = p.get_future();
    f(reply<T>(pool.get_executor(), [&p](result<T> r) { p.set_value(std::move(r)); }));
    return answer.get();
  }
  data_dir_lock lock;
  engine eng;
  boost::asio::thread_pool pool{1};
  std::string error;
  uint64_t records = 0;
};

const std::vector<std::string> users{"ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal"};
const std::vector<std::string> products{"p0", "p1", "p2", "p3", "p4", "p5"};

// Everything a client can read, as text, for comparing two stores.
std::string dump(durable_store& s) {
  std::string out;
  EXPECT_TRUE(s.call<ok_t>([&](auto d) { s.eng.quiesce(std::move(d)); }).ok());
  auto list = s.call<page<product_view>>([&](auto d) { s.eng.list_products("", 200, "", true, std::move(d)); });
  for (const auto& p : list->items)
    out += p.id + " " + p.name + " " + std::to_string(p.price) + " on_hand=" +
           std::to_string(p.on_hand) + " reserved=" + std::to_string(p.reserved) +
           " committed=" + std::to_string(p.committed) + " active=" + std::to_string(p.active) + "\n";
  for (const auto& u : users) {
    auto c = s.call<cart_view>([&](auto d) { s.eng.get_cart(u, std::move(d)); });
    out += u + " cart";
    for (const auto& l : c->items)
      out += " " + l.product_id + "x" + std::to_string(l.quantity) + (l.held ? "h" : "") +
             std::to_string(l.held_until_ms.value_or(0));
    auto orders = s.call<page<order>>([&](auto d) { s.eng.list_orders(u, "", 200, std::move(d)); });
    for (const auto& o : orders->items) {
      out += "\n  " + o.id + " " + std::string(to_string(o.status)) + " total=" + std::to_string(o.total) +
             " payments=" + std::to_string(o.payments.size()) + " history=" + std::to_string(o.history.size());
    }
    auto inbox = s.call<page<notification>>([&](auto d) { s.eng.list_notifications(u, "", 200, std::move(d)); });
    out += "\n  inbox " + std::to_string(inbox->items.size());
    if (!inbox->items.empty()) out += " " + inbox->items[0].id + " " + inbox->items[0].event;
    auto addrs = s.call<std::vector<address>>([&](auto d) { s.eng.list_addresses(u, std::move(d)); });
    out += "\n  addresses " + std::to_string(addrs->size()) + "\n";
  }
  return out;
}

void random_work(durable_store& s, manual_clock& clock, unsigned seed, int ops) {
  std::mt19937 rng(seed);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(seed * 31 + t);
      for (int i = 0; i < ops; ++i) {
        const std::string& u = users[(t * 2 + r() % 2) % users.size()];
        const std::string& p = products[r() % products.size()];
        switch (r() % 8) {
          case 0:
          case 1:
          case 2:
            (void)s.call<idempotent<cart_view>>([&](auto d) { s.eng.add_item(u, p, 1 + r() % 3, std::nullopt, std::move(d)); });
            break;
          case 3:
            (void)s.call<cart_view>([&](auto d) { s.eng.set_item(u, p, r() % 4, std::move(d)); });
            break;
          case 4: {
            auto a = s.call<address>([&](auto d) {
              s.eng.add_address(u, address{"", "N", "L1", "", "C", "", "1", "GB", ""}, std::move(d));
            });
            if (a.ok())
              (void)s.call<idempotent<order>>([&](auto d) {
                s.eng.place_order(u, checkout_request{a->id, "", "standard"}, "k" + std::to_string(r()), std::move(d));
              });
            break;
          }
          default: {
            auto orders = s.call<page<order>>([&](auto d) { s.eng.list_orders(u, "", 5, std::move(d)); });
            if (!orders.ok() || orders->items.empty()) break;
            const order& o = orders->items[r() % orders->items.size()];
            if (r() % 2) {
              payment_request pr{"card", o.total, {"4242424242424242", 12, 2030, "123"}};
              (void)s.call<idempotent<payment_result>>([&](auto d) { s.eng.pay_order(o.id, u, pr, std::nullopt, std::move(d)); });
            } else {
              (void)s.call<order>([&](auto d) { s.eng.cancel_order(o.id, u, false, std::move(d)); });
            }
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  (void)rng;
  (void)clock;
}

void seed_catalog(durable_store& s) {
  for (size_t i = 0; i < products.size(); ++i) {
    product_create c;
    c.id = products[i];
    c.name = "Product " + products[i];
    c.price = 100 * static_cast<int64_t>(i + 1);
    c.on_hand = 40;
    ASSERT_TRUE(s.call<product_view>([&](auto d) { s.eng.create_product(c, std::move(d)); }).ok());
  }
}

TEST(Recovery, AReopenedStoreIsTheStoreThatWasClosed) {
  for (unsigned seed : {1u, 2u, 3u}) {
    std::string dir = fresh_dir(("reopen-" + std::to_string(seed)).c_str());
    manual_clock clock;
    std::string before;
    {
      durable_store s(dir, clock);
      ASSERT_EQ(s.error, "");
      seed_catalog(s);
      random_work(s, clock, seed, 150);
      before = dump(s);
    }
    durable_store again(dir, clock);
    ASSERT_EQ(again.error, "");
    EXPECT_GT(again.records, 100u);
    EXPECT_EQ(dump(again), before) << "seed " << seed;
    // New work continues with fresh ids and consistent counts.
    random_work(again, clock, seed + 100, 30);
    ASSERT_TRUE(again.call<ok_t>([&](auto d) { again.eng.quiesce(std::move(d)); }).ok());
    auto audit = again.call<stock_audit>([&](auto d) { again.eng.audit(std::move(d)); });
    for (const auto& [id, line] : audit.value()) {
      EXPECT_EQ(line.reserved, line.held_in_carts) << id;
      EXPECT_EQ(line.committed, line.in_live_orders) << id;
    }
  }
}

TEST(Recovery, AnotherShardCountIsRefused) {
  std::string dir = fresh_dir("shards");
  manual_clock clock;
  { durable_store s(dir, clock); ASSERT_EQ(s.error, ""); }
  engine other(engine_config{2, 600, 900, &clock, false});
  recovery_report report;
  data_dir_lock lock;
  auto err = open_data_dir(other, dir, report, lock);
  EXPECT_NE(err.find("--shards 4"), std::string::npos) << err;
}

TEST(Recovery, ASecondProcessCannotOpenADirectoryInUse) {
  std::string dir = fresh_dir("locked");
  manual_clock clock;
  durable_store s(dir, clock);
  ASSERT_EQ(s.error, "");
  pid_t child = ::fork();
  if (child == 0) {
    engine other(engine_config{4, 600, 900, &clock, false});
    recovery_report report;
    data_dir_lock lock;
    auto err = open_data_dir(other, dir, report, lock);
    ::_exit(err.find("in use") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The crash a test can make here: the process dies without flushing (a child _exits after
// acknowledgements). Every acknowledged order must come back.
TEST(Recovery, EveryAcknowledgedOrderSurvivesAProcessThatDies) {
  std::string dir = fresh_dir("die");
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    manual_clock clock;
    auto* s = new durable_store(dir, clock);  // never destroyed: the process just dies
    if (!s->error.empty()) ::_exit(2);
    seed_catalog(*s);
    for (int i = 0; i < 60; ++i) {
      std::string u = "u" + std::to_string(i);
      (void)s->call<idempotent<cart_view>>([&](auto d) { s->eng.add_item(u, products[i % 6], 1, std::nullopt, std::move(d)); });
      auto a = s->call<address>([&](auto d) { s->eng.add_address(u, address{"", "N", "L", "", "C", "", "1", "GB", ""}, std::move(d)); });
      auto o = s->call<idempotent<order>>([&](auto d) { s->eng.place_order(u, checkout_request{a->id, "", "standard"}, std::nullopt, std::move(d)); });
      if (o.ok()) {
        std::string line = u + " " + o->value.id + "\n";
        (void)!::write(pipe_fds[1], line.data(), line.size());
      }
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string acknowledged;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) acknowledged.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  manual_clock clock;
  durable_store s(dir, clock);
  ASSERT_EQ(s.error, "");
  std::istringstream lines(acknowledged);
  std::string user, id;
  int checked = 0;
  while (lines >> user >> id) {
    auto o = s.call<order>([&](auto d) { s.eng.get_order(id, user, false, std::move(d)); });
    ASSERT_TRUE(o.ok()) << id;
    EXPECT_EQ(o->status, order_status::pending);
    ++checked;
  }
  EXPECT_EQ(checked, 60);
}

}  // namespace
}  // namespace stampede::wal
