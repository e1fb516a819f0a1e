// Recovery: a store reopened from its write-ahead logs is the store that was closed, for
// random workloads on 4 shards; and the stock counts are rebuilt from carts and orders.
#include "persistence/recovery.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/address_ops.h"
#include "core/cart_ops.h"
#include "core/shard.h"
#include "persistence/files.h"
#include "tests/core/engine_fixture.h"

namespace stampede::wal {
namespace {

// A new empty directory, removed when the test program exits.
std::string fresh_dir(const char* name) {
  struct cleanup {
    std::vector<std::filesystem::path> dirs;
    ~cleanup() {
      std::error_code ec;
      for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
    }
  };
  static cleanup made;
  auto dir = std::filesystem::path(::testing::TempDir()) /
             (std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  made.dirs.push_back(dir);
  return dir.string();
}

// An engine on a manual clock opened on `dir`.
struct durable_store {
  durable_store(const std::string& dir, manual_clock& clock, store_options options = {})
      : eng(config(clock)) {
    error = open_data_dir(eng, dir, report, lock, options);
    records = report.records;
    if (!error.empty()) return;
    eng.start();
    snapshots = std::make_unique<snapshotter>(eng, dir, *lock.snapshots(), snapshot_options{0, 0});
  }
  ~durable_store() {
    eng.stop();
    pool.join();
  }
  static engine_config config(manual_clock& clock) {
    engine_config c{4, 600, 900, &clock, false};
    c.user_requests_per_s = 0;  // the manual clock never refills a bucket
    c.snapshot_units_per_turn = 1;  // snapshots span many turns: units change meanwhile
    c.email = true;                 // orders' notifications go to the email outbox as well
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
  std::unique_ptr<snapshotter> snapshots;  // rounds only when a test takes one
  recovery_report report;
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
                // Every order has an address: its notifications wait in the email outbox too.
                s.eng.place_order(u, checkout_request{a->id, "", "standard", u + "@example.com"},
                                  "k" + std::to_string(r()), std::move(d));
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

// API.md: one store currency, set at start-up. Found from outside: a restart with another
// --currency relabelled every order and payment already kept (1500 USD read as 1500 JPY).
TEST(Recovery, AnotherCurrencyIsRefusedAndAStoreWithoutOneGetsIt) {
  std::string dir = fresh_dir("currency");
  manual_clock clock;
  store_options usd;
  usd.currency = "USD";
  {
    durable_store s(dir, clock);  // an older store: its manifest names no currency
    ASSERT_EQ(s.error, "");
  }
  {
    durable_store s(dir, clock, usd);  // the first start that names one records it
    ASSERT_EQ(s.error, "");
  }
  store_options jpy;
  jpy.currency = "JPY";
  durable_store refused(dir, clock, jpy);
  EXPECT_NE(refused.error.find("keeps its money in USD; start with --currency USD"), std::string::npos)
      << refused.error;
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

// ---- Snapshots ----

void expect_consistent_stock(durable_store& s) {
  ASSERT_TRUE(s.call<ok_t>([&](auto d) { s.eng.quiesce(std::move(d)); }).ok());
  auto audit = s.call<stock_audit>([&](auto d) { s.eng.audit(std::move(d)); });
  for (const auto& [id, line] : audit.value()) {
    EXPECT_EQ(line.reserved, line.held_in_carts) << id;
    EXPECT_EQ(line.committed, line.in_live_orders) << id;
    EXPECT_LE(line.reserved + line.committed, line.on_hand) << id;
  }
}

size_t segment_count(const std::string& dir) {
  size_t n = 0;
  for (uint32_t i = 0; i < 4; ++i) n += list_segments(dir, i).size();
  return n;
}

TEST(Snapshots, ARestartLoadsTheSnapshotAndReplaysOnlyTheLogAfterIt) {
  std::string dir = fresh_dir("snap-restart");
  manual_clock clock;
  store_options small;
  small.segment_bytes = 4096;  // many segments, so covered ones can be deleted
  std::string before;
  uint64_t logged_before_snapshot = 0;
  {
    durable_store s(dir, clock, small);
    ASSERT_EQ(s.error, "");
    seed_catalog(s);
    random_work(s, clock, 7, 150);
    size_t segments_before = segment_count(dir);
    ASSERT_GT(segments_before, 8u);
    ASSERT_EQ(s.snapshots->take(), "");
    auto st = s.snapshots->stats();
    EXPECT_GT(st.units, 6u);  // the products and the users
    EXPECT_GT(st.segments_deleted, 0u);
    EXPECT_LT(segment_count(dir), segments_before);
    for (uint32_t i = 0; i < 4; ++i) logged_before_snapshot += s.lock.snapshots()->covered(i);
    EXPECT_GT(logged_before_snapshot, 100u);
    random_work(s, clock, 8, 20);  // a short log after the snapshot
    before = dump(s);
  }
  {
    durable_store again(dir, clock, small);
    ASSERT_EQ(again.error, "");
    EXPECT_GT(again.report.snapshot_units, 6u);
    EXPECT_GT(again.records, 0u);
    EXPECT_LT(again.records, logged_before_snapshot);  // not the whole history
    EXPECT_EQ(dump(again), before);
    // A snapshot before anything new is logged covers the log replayed at the start.
    ASSERT_EQ(again.snapshots->take(), "");
  }
  durable_store again(dir, clock, small);
  ASSERT_EQ(again.error, "");
  EXPECT_EQ(again.records, 0u);
  EXPECT_EQ(dump(again), before);
  random_work(again, clock, 9, 30);
  expect_consistent_stock(again);
  // A second snapshot writes only what changed since the first.
  ASSERT_EQ(again.snapshots->take(), "");
  EXPECT_LE(again.snapshots->stats().units, users.size() + products.size() + 4);
}

TEST(Snapshots, ASnapshotTakenDuringLoadIsTheStateAtItsPosition) {
  for (unsigned seed : {11u, 12u}) {
    std::string dir = fresh_dir(("snap-load-" + std::to_string(seed)).c_str());
    manual_clock clock;
    store_options small;
    small.segment_bytes = 8192;
    std::string before;
    {
      durable_store s(dir, clock, small);
      ASSERT_EQ(s.error, "");
      seed_catalog(s);
      std::atomic<bool> done{false};
      // Clients, and an admin changing stock (a logged increase waits for its record).
      std::thread work([&] {
        random_work(s, clock, seed, 200);
        done = true;
      });
      std::thread admin([&] {
        for (int i = 0; !done; ++i)
          (void)s.call<product_view>([&](auto d) {
            s.eng.adjust_stock(products[i % products.size()], i % 2 ? -1 : 1, std::move(d));
          });
      });
      // Other users keep changing, so every round has hundreds of units to take, one a
      // turn, and the users above change while a round is under way (copy-on-write).
      std::thread others([&] {
        for (int i = 0; !done; ++i) {
          std::string u = "other" + std::to_string(i % 400);
          auto a = s.call<address>([&](auto d) {
            s.eng.add_address(u, address{"", "N", "L1", "", "C", "", "1", "GB", ""}, std::move(d));
          });
          if (a.ok()) (void)s.call<ok_t>([&](auto d) { s.eng.delete_address(u, a->id, std::move(d)); });
        }
      });
      int rounds = 0;
      while (!done || rounds < 3) {
        ASSERT_EQ(s.snapshots->take(), "");
        ++rounds;
      }
      work.join();
      admin.join();
      others.join();
      EXPECT_GE(s.snapshots->stats().rounds, 3u);
      before = dump(s);
    }
    durable_store again(dir, clock, small);
    ASSERT_EQ(again.error, "");
    EXPECT_GT(again.report.snapshot_units, 0u);
    EXPECT_EQ(dump(again), before) << "seed " << seed;
    expect_consistent_stock(again);
  }
}

// Deterministic copy-on-write: each shard begins its part (one unit a turn, hundreds of
// units to take) and at once changes the test users it owns, before it has taken them.
TEST(Snapshots, AUnitChangedBeforeItIsTakenIsTakenAsItWasAtThePosition) {
  std::string dir = fresh_dir("snap-cow");
  manual_clock clock;
  std::string before;
  {
    durable_store s(dir, clock);
    ASSERT_EQ(s.error, "");
    seed_catalog(s);
    for (int i = 0; i < 400; ++i)
      ASSERT_TRUE(s.call<address>([&](auto d) {
                     s.eng.add_address("filler" + std::to_string(i),
                                       address{"", "N", "L1", "", "C", "", "1", "GB", ""}, std::move(d));
                   }).ok());
    random_work(s, clock, 21, 40);
    router routes(4);
    boost::asio::thread_pool sink_pool(1);
    ASSERT_EQ(s.snapshots->take([&](shard& sh) {
      for (const auto& u : users) {
        if (routes.user_shard(u) != sh.index()) continue;
        auto ignore = [](auto) {};
        address_ops::add_address(sh, u, address{"", "Mid", "L1", "", "C", "", "1", "GB", ""},
                                 reply<address>(sink_pool.get_executor(), ignore));
        cart_ops::clear_cart(sh, u, reply<cart_view>(sink_pool.get_executor(), ignore));
      }
    }), "");
    sink_pool.join();
    random_work(s, clock, 22, 20);
    before = dump(s);
  }
  durable_store again(dir, clock);
  ASSERT_EQ(again.error, "");
  EXPECT_GT(again.report.snapshot_units, 400u);
  EXPECT_EQ(dump(again), before);
  expect_consistent_stock(again);
}

// Webhook registrations (every shard) and each shard's outbox come back from a snapshot
// plus the log after it.
TEST(Snapshots, WebhooksAndTheirOutboxSurviveASnapshotAndARestart) {
  std::string dir = fresh_dir("snap-webhooks");
  manual_clock clock;
  auto outbox_sizes = [](durable_store& s) {
    std::vector<size_t> sizes;
    for (uint32_t i = 0; i < 4; ++i) {
      std::promise<size_t> p;
      s.eng.shard_at(i).post(shard_task{[&p](shard& sh) { p.set_value(sh.webhooks().events().size()); }});
      sizes.push_back(p.get_future().get());
    }
    return sizes;
  };
  std::vector<size_t> before;
  std::string hook_id;
  {
    durable_store s(dir, clock);
    ASSERT_EQ(s.error, "");
    seed_catalog(s);
    auto w = s.call<webhook>([&](auto d) {
      s.eng.add_webhook(webhook{"", "http://127.0.0.1:9/x", "secret-123", {"order.*"}, 0}, std::move(d));
    });
    ASSERT_TRUE(w.ok());
    hook_id = w->id;
    random_work(s, clock, 31, 40);
    ASSERT_EQ(s.snapshots->take(), "");
    random_work(s, clock, 32, 40);
    before = outbox_sizes(s);
    size_t total = 0;
    for (size_t n : before) total += n;
    EXPECT_GT(total, 0u);
  }
  durable_store again(dir, clock);
  ASSERT_EQ(again.error, "");
  EXPECT_EQ(outbox_sizes(again), before);
  auto hooks = again.call<std::vector<webhook>>([&](auto d) { again.eng.list_webhooks(std::move(d)); });
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_EQ(hooks.value()[0].id, hook_id);
  // Deleting the webhook empties every outbox.
  ASSERT_TRUE(again.call<ok_t>([&](auto d) { again.eng.remove_webhook(hook_id, std::move(d)); }).ok());
  EXPECT_EQ(outbox_sizes(again), std::vector<size_t>(4, 0));
}

// Each shard's email outbox comes back from a snapshot plus the log after it, mail by mail;
// a mail done before the restart stays done.
TEST(Snapshots, TheEmailOutboxSurvivesASnapshotAndARestart) {
  std::string dir = fresh_dir("snap-email");
  manual_clock clock;
  using mail_keys = std::vector<std::vector<email_outbox::key>>;
  auto outboxes = [](durable_store& s, bool send_first) {
    mail_keys keys;
    for (uint32_t i = 0; i < 4; ++i) {
      std::promise<std::vector<email_outbox::key>> p;
      s.eng.shard_at(i).post(shard_task{[&p, send_first](shard& sh) {
        // As the deliverer does once the mail server took one: the oldest leaves.
        if (send_first && !sh.mail().mails().empty()) sh.mail().done(sh.mail().mails().begin()->first);
        std::vector<email_outbox::key> k;
        for (const auto& [key, entry] : sh.mail().mails()) {
          EXPECT_EQ(entry.order_now.email, entry.order_now.user_id + "@example.com");
          k.push_back(key);
        }
        p.set_value(std::move(k));
      }});
      keys.push_back(p.get_future().get());
    }
    return keys;
  };
  mail_keys before;
  {
    durable_store s(dir, clock);
    ASSERT_EQ(s.error, "");
    seed_catalog(s);
    random_work(s, clock, 41, 40);
    ASSERT_EQ(s.snapshots->take(), "");
    random_work(s, clock, 42, 40);
    before = outboxes(s, /*send_first=*/true);
    size_t total = 0;
    for (const auto& k : before) total += k.size();
    EXPECT_GT(total, 0u);
  }
  durable_store again(dir, clock);
  ASSERT_EQ(again.error, "");
  EXPECT_EQ(outboxes(again, false), before);
}

TEST(Snapshots, TheMapGrowsWhenItIsFull) {
  std::string dir = fresh_dir("snap-grow");
  manual_clock clock;
  store_options tiny;
  tiny.snapshot_map_bytes = 64 * 1024;
  std::string before;
  {
    durable_store s(dir, clock, tiny);
    ASSERT_EQ(s.error, "");
    seed_catalog(s);
    for (int i = 0; i < 400; ++i) {
      std::string u = "grow" + std::to_string(i);
      ASSERT_TRUE(s.call<address>([&](auto d) {
                     s.eng.add_address(u, address{"", "Name " + u, std::string(150, 'x'), "", "City",
                                                  "", "1", "GB", ""}, std::move(d));
                   }).ok());
      (void)s.call<idempotent<cart_view>>([&](auto d) {
        s.eng.add_item(u, products[i % products.size()], 1, std::nullopt, std::move(d));
      });
    }
    size_t map_before = s.lock.snapshots()->map_bytes();
    ASSERT_EQ(s.snapshots->take(), "");
    EXPECT_GT(s.lock.snapshots()->map_grows(), 0);
    EXPECT_GT(s.lock.snapshots()->map_bytes(), map_before);
    EXPECT_GT(s.snapshots->stats().bytes, map_before);
    before = dump(s);
  }
  durable_store again(dir, clock, tiny);
  ASSERT_EQ(again.error, "");
  EXPECT_GE(again.report.snapshot_units, 400u);
  EXPECT_EQ(again.records, 0u);  // everything came from the snapshot
  EXPECT_EQ(dump(again), before);
  auto addrs = again.call<std::vector<address>>([&](auto d) { again.eng.list_addresses("grow399", std::move(d)); });
  ASSERT_EQ(addrs->size(), 1u);
  EXPECT_EQ(addrs.value()[0].name, "Name grow399");
}

TEST(Snapshots, AMissingLogSegmentAfterTheSnapshotIsRefused) {
  std::string dir = fresh_dir("snap-gap");
  manual_clock clock;
  store_options small;
  small.segment_bytes = 2048;
  {
    durable_store s(dir, clock, small);
    ASSERT_EQ(s.error, "");
    seed_catalog(s);
    random_work(s, clock, 3, 60);
    ASSERT_EQ(s.snapshots->take(), "");
    random_work(s, clock, 4, 120);
  }
  // Remove the first segment a restart needs, on a shard that has more than one.
  bool removed = false;
  for (uint32_t i = 0; i < 4 && !removed; ++i) {
    auto segments = list_segments(dir, i);
    if (segments.size() < 2) continue;
    std::filesystem::remove(segments[0].path);
    removed = true;
  }
  ASSERT_TRUE(removed);
  durable_store again(dir, clock, small);
  EXPECT_NE(again.error.find("a log segment is missing"), std::string::npos) << again.error;
}

}  // namespace
}  // namespace stampede::wal
