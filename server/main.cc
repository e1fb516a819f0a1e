// `stampede`: the command line. `serve` runs the HTTP API of API.md, `token` prints a bearer
// token, `demo` runs a flash sale against the engine in-process, `rehearse` plays one against
// a running server (loadtest/rehearse/).
#include <csignal>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "core/engine.h"
#include "loadtest/rehearse/rehearse.h"
#include "persistence/snapshot.h"
#include "persistence/recovery.h"
#include "server/auth.h"
#include "server/descriptor_budget.h"
#include "server/config.h"
#include "server/email/mailer.h"
#include "server/handlers/handlers.h"
#include "server/http_server.h"
#include "server/replicated_serve.h"
#include "server/listener.h"
#include "server/startup_responder.h"

namespace {

using namespace stampede;

template <class T, class F>
result<T> wait_for(boost::asio::thread_pool& pool, F&& call) {
  std::promise<result<T>> p;
  auto f = p.get_future();
  call(reply<T>(pool.get_executor(), [&p](result<T> r) { p.set_value(std::move(r)); }));
  return f.get();
}

void load_demo_catalog(engine& eng, boost::asio::thread_pool& pool);

int demo() {
  constexpr int shoppers = 20'000, threads = 4;
  boost::asio::thread_pool pool(2);
  engine eng(engine_config{});
  eng.start();
  std::printf("Stampede engine demo, in-process (for the HTTP server: stampede serve --demo): %u shards\n",
              eng.shard_count());
  load_demo_catalog(eng, pool);
  auto catalog = wait_for<page<product_view>>(
      pool, [&](auto done) { eng.list_products("", 50, "", false, std::move(done)); });
  if (!catalog.ok()) return 1;
  int on_hand = 0;
  for (const auto& p : catalog->items) {
    std::printf("  %-16s %-16s %6.2f USD  %5lld available\n", p.id.c_str(), p.name.c_str(),
                p.price / 100.0, static_cast<long long>(p.available));
    if (p.id == "sneaker-limited") on_hand = static_cast<int>(p.available);
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

// The demo catalog of `serve --demo`: one limited drop, two plentiful items, one upcoming.
void load_demo_catalog(engine& eng, boost::asio::thread_pool& pool) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  struct item {
    const char* id;
    const char* name;
    const char* description;
    int64_t price, on_hand, max_per_user, starts_in_s;
  };
  const item items[] = {
      {"sneaker-limited", "Limited sneaker", "The drop everyone is waiting for.", 12999, 300, 1, 0},
      {"hoodie", "Drop hoodie", "Heavyweight, oversized.", 5999, 1000, 0, 0},
      {"cap", "Logo cap", "One size.", 1999, 5000, 0, 0},
      {"sneaker-next", "Next drop", "Goes on sale in an hour.", 14999, 200, 2, 3600},
  };
  for (const auto& it : items) {
    product_create c;
    c.id = it.id;
    c.name = it.name;
    c.description = it.description;
    c.price = it.price;
    c.on_hand = it.on_hand;
    c.max_per_user = it.max_per_user;
    c.images = {std::string("https://cdn.example/") + it.id + ".jpg"};
    if (it.starts_in_s) c.sale_starts_at_ms = now_ms + it.starts_in_s * 1000;
    auto r = wait_for<product_view>(pool, [&](auto done) { eng.create_product(c, std::move(done)); });
    if (!r.ok() && r.code() != error_code::conflict)
      std::fprintf(stderr, "stampede: demo product %s: %s\n", it.id, r.err().message.c_str());
  }
}

bool split_listen(const std::string& listen, std::string& host, unsigned short& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long p = 0;
  try {
    p = std::stoul(listen.substr(colon + 1));
  } catch (...) {
    return false;
  }
  if (p > 65535) return false;
  port = static_cast<unsigned short>(p);
  return true;
}

// --smtp-url's mailer thread, or null when email is off (or its sender is not an address).
std::unique_ptr<email::mailer> make_mailer(const http::config& cfg) {
  if (cfg.smtp_url.empty()) return nullptr;
  auto from = email::parse_mailbox(cfg.smtp_from.empty() ? cfg.support_email : cfg.smtp_from);
  if (!from.ok()) {
    std::fprintf(stderr, "stampede: no email: --smtp-from: %s\n", from.err().message.c_str());
    return nullptr;
  }
  auto templates = cfg.email_templates_dir.empty()
                       ? result<email::email_templates>(email::email_templates())
                       : email::email_templates::load(cfg.email_templates_dir);
  if (!templates.ok()) {
    std::fprintf(stderr, "stampede: no email: %s\n", templates.err().message.c_str());
    return nullptr;
  }
  return std::make_unique<email::mailer>(
      email::smtp_settings{cfg.smtp_url, cfg.smtp_user, cfg.smtp_password, std::move(from).value()},
      std::make_shared<const email::email_templates>(std::move(templates).value()));
}

// Loads the data dir's snapshot and log into `eng` (not started) and says what it found;
// false, said on stderr, when it cannot.
bool recover_into(engine& eng, const http::config& cfg, wal::data_dir_lock& lock) {
  wal::recovery_report recovered;
  wal::store_options store;
  store.segment_bytes = static_cast<uint64_t>(cfg.segment_mb) << 20;
  store.currency = cfg.currency;
  if (auto err = wal::open_data_dir(eng, cfg.data_dir, recovered, lock, store); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    return false;
  }
  std::fprintf(stderr,
               "stampede: %s: loaded %llu snapshot units, replayed %llu records (%.1f MB) in "
               "%.3f s%s\n",
               cfg.data_dir.c_str(), static_cast<unsigned long long>(recovered.snapshot_units),
               static_cast<unsigned long long>(recovered.records),
               static_cast<double>(recovered.bytes) / 1e6, recovered.seconds,
               recovered.torn_tails ? ", truncating a torn write at the end" : "");
  return true;
}

// Says where the server answers, and what it warns about.
void announce(const http::config& cfg, const std::string& host, unsigned port, uint32_t shards) {
  if (cfg.jwt_secret_defaulted)
    std::fprintf(stderr, "stampede: warning: using the development JWT secret; set --jwt-secret or STAMPEDE_JWT_SECRET\n");
  if (cfg.durability == "async")
    std::fprintf(stderr, "stampede: --durability async: answers go before their records are synced\n");
  std::printf("stampede: serving http://%s:%u with %u shards%s\n", host.c_str(), port, shards,
              cfg.demo ? " and the demo catalog" : "");
  std::printf("  try: curl -s http://%s:%u/v1/products\n", host.c_str(), port);
  std::fflush(stdout);
}

// serve() without --replicate: one node, its own data dir, until SIGINT or SIGTERM.
int serve_single_node(const http::config& cfg, const std::string& host, unsigned short port,
                      const sigset_t& signals, size_t connections_max) {
  wal::data_dir_lock lock;  // outlives the engine: its last records are written under it
  engine eng(http::engine_config_of(cfg, cfg.shards));
  // Until recovery is done and the shards serve, the address answers /healthz and a 503
  // /readyz rather than refusing connections.
  http::startup_responder early;
  if (auto err = early.start(host, port); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    return 1;
  }
  if (!recover_into(eng, cfg, lock)) return 1;
  eng.start();
  wal::snapshotter snapshots(eng, cfg.data_dir, *lock.snapshots(),
                             {cfg.snapshot_interval_s * 1000,
                              static_cast<uint64_t>(cfg.snapshot_log_mb) << 20});
  snapshots.start();
  boost::asio::thread_pool pool(1);
  if (cfg.demo) load_demo_catalog(eng, pool);
  auto mailer = make_mailer(cfg);  // after the engine, before the server: outlives its users
  http::server_settings settings = http::server_settings_of(cfg);  // single node: no replication
  settings.mailer = mailer.get();
  settings.connections_max = connections_max;
  http::http_server server(eng, settings);
  if (auto err = server.start(host, early.port()); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    snapshots.stop();
    eng.stop();
    pool.join();
    return 1;
  }
  // Recovery is over and the shards' acceptors are bound beside the responder on the same
  // port: they take over at once (stop() waits for no client of the responder's).
  http::handlers::set_ready(true);
  early.stop();
  announce(cfg, host, server.port(), eng.shard_count());

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "stampede: %s: draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  http::handlers::set_ready(false);
  server.stop_accepting();
  server.finish_drain(std::chrono::milliseconds(http::drain_time_ms));
  // A last snapshot makes the next start read little log.
  if (auto err = snapshots.take(); !err.empty())
    std::fprintf(stderr, "stampede: final snapshot failed: %s\n", err.c_str());
  snapshots.stop();
  eng.stop();
  pool.join();
  std::fprintf(stderr, "stampede: stopped\n");
  return 0;
}

int serve(const http::config& cfg) {
  std::string host;
  unsigned short port = 0;
  if (!split_listen(cfg.listen, host, port)) {
    std::fprintf(stderr, "stampede: --listen must be host:port\n");
    return 2;
  }
  if (auto err = http::check_port_free(host, port); !err.empty()) {
    std::fprintf(stderr, "stampede: %s\n", err.c_str());
    return 1;
  }
  // Signals go to the main thread only: block them before any other thread exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Connections may use every descriptor the hard limit allows, less a reserve for the logs
  // and snapshots (server/descriptor_budget.h).
  std::string descriptors_report;
  size_t descriptor_limit = http::raise_descriptor_limit(descriptors_report);
  size_t connections_max = http::connections_allowed(descriptor_limit);
  std::fprintf(stderr, "stampede: %s; up to %zu connections\n", descriptors_report.c_str(), connections_max);
  if (!cfg.replicate.empty()) {
    // One mailer for the node's life: each engine it builds hands it mail while primary.
    auto mailer = make_mailer(cfg);
    return http::serve_replicated(cfg, host, port, signals, {mailer.get(), connections_max});
  }
  return serve_single_node(cfg, host, port, signals, connections_max);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command = args.empty() ? "" : args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::printf("%s", http::usage().c_str());
    return 0;
  }
  if (command == "demo") return demo();
  if (command == "rehearse") return load::rehearse_main({args.begin() + 1, args.end()});
  if (command != "serve" && command != "token") {
    std::fprintf(stderr, "%s", http::usage().c_str());
    return 2;
  }
  http::config cfg;
  bool help = false;
  if (auto err = http::parse_config({args.begin() + 1, args.end()}, cfg, help)) {
    std::fprintf(stderr, "stampede: %s\n", err->c_str());
    return 2;
  }
  if (help) {
    std::printf("%s", http::usage().c_str());
    return 0;
  }
  if (auto err = http::misplaced_flag(command, cfg)) {
    std::fprintf(stderr, "stampede: %s\n", err->c_str());
    return 2;
  }
  if (command == "token") {
    if (cfg.sub.empty()) {
      std::fprintf(stderr, "stampede: token needs --sub USER\n");
      return 2;
    }
    int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    std::printf("%s\n", http::sign_token(cfg.jwt_secret, cfg.sub, cfg.role, now_s + cfg.ttl_s, cfg.token_email).c_str());
    return 0;
  }
  return serve(cfg);
}
