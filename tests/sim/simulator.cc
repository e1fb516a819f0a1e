#include "tests/sim/simulator.h"

#include <random>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "tests/sim/client.h"
#include "tests/sim/invariants.h"

namespace stampede::sim {

namespace {

constexpr uint64_t setup_steps_max = 20'000;     // the catalog and addresses, no faults
constexpr uint64_t main_steps_max = 400'000;     // a runaway guard; runs take a few thousand
constexpr uint64_t liveness_steps_max = 100'000;  // after the workload stops
constexpr int64_t big_jump_extra_ms = 1'000;     // past a hold's or a payment's deadline
constexpr int crash_unsynced_factor = 4;         // a cut is likelier while a sync is in flight

int64_t draw(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// What one seed drew: the machine, the workload and how often each thing happens.
struct knobs {
  uint32_t shards = 2;
  int products = 2;
  bool async = false;
  int64_t hold_ttl_s = 30, payment_ttl_s = 60;
  int crashes_max = 0;
  size_t drain_max = 1;
  int64_t time_step_max_ms = 100;
  int big_jump_percent = 5;
  // Weights of the scheduler's choices.
  int drain = 20, poll = 10, sleep = 5, wake = 10, count = 20, charge = 10;
  std::vector<int> sync;  // per shard: one disk may be much slower than another
  int request = 10, time = 2, crash = 1;
  workload_knobs workload;

  std::string describe() const {
    return std::to_string(shards) + " shards, " + std::to_string(products) + " products, " +
           std::to_string(workload.users) + " users, " + std::to_string(workload.requests) +
           " requests, " + (async ? "async" : "fsync") + ", up to " + std::to_string(crashes_max) +
           " crashes, drains of " + std::to_string(drain_max) + ", weights drain " +
           std::to_string(drain) + " sleep " + std::to_string(sleep) + " count " +
           std::to_string(count) + " sync " + std::to_string(sync[0]);
  }
};

knobs draw_knobs(std::mt19937_64& rng, const sim_options& o) {
  knobs k;
  k.shards = static_cast<uint32_t>(draw(rng, 1, 4));
  k.products = static_cast<int>(draw(rng, 1, 4));
  k.async = o.async >= 0 ? o.async == 1 : draw(rng, 0, 99) < 15;
  k.hold_ttl_s = draw(rng, 2, 60);
  k.payment_ttl_s = draw(rng, 5, 120);
  k.crashes_max = static_cast<int>(draw(rng, 0, 5));
  const size_t drains[] = {1, 2, 3, limits::shard_drain_batch_max};
  k.drain_max = drains[draw(rng, 0, 3)];
  k.time_step_max_ms = draw(rng, 1, 2'000);
  k.big_jump_percent = static_cast<int>(draw(rng, 0, 10));
  k.drain = static_cast<int>(draw(rng, 5, 40));
  k.poll = static_cast<int>(draw(rng, 5, 20));
  k.sleep = static_cast<int>(draw(rng, 0, 20));
  k.wake = static_cast<int>(draw(rng, 2, 30));
  k.count = static_cast<int>(draw(rng, 2, 40));  // low: posts linger uncounted
  // Some disks are slow: a shard's records then stay unsynced while others' are not.
  for (uint32_t i = 0; i < k.shards; ++i)
    k.sync.push_back(draw(rng, 0, 9) < 3 ? 1 : static_cast<int>(draw(rng, 2, 30)));
  k.charge = static_cast<int>(draw(rng, 1, 20));
  k.request = static_cast<int>(draw(rng, 3, 60));
  k.time = static_cast<int>(draw(rng, 1, 6));
  k.crash = k.crashes_max > 0 ? static_cast<int>(draw(rng, 1, 3)) : 0;
  k.workload.users = static_cast<int>(draw(rng, 1, 8));
  k.workload.requests = static_cast<int>(draw(rng, 20, 120));
  k.workload.weight_cancel = static_cast<int>(draw(rng, 0, 12));
  k.workload.weight_admin = static_cast<int>(draw(rng, 0, 15));
  k.workload.hot_percent = draw(rng, 0, 1) ? static_cast<int>(draw(rng, 50, 95)) : 0;
  return k;
}

std::vector<product_spec> draw_products(std::mt19937_64& rng, const knobs& k) {
  std::vector<product_spec> out;
  for (int i = 0; i < k.products; ++i) {
    int64_t max = draw(rng, 0, 9) < 6 ? 0 : draw(rng, 1, 3);
    out.push_back({"sku-" + std::to_string(i), draw(rng, 1, 50) * 100, draw(rng, 0, 6), max});
  }
  return out;
}

enum class event : uint8_t { drain, poll, sleep, wake, count, sync, charge, request, time, crash };
constexpr const char* event_names[] = {"drain", "poll",    "sleep", "wake", "count",
                                       "sync",  "charge", "request", "time", "crash"};
enum class phase : uint8_t { setup, main, liveness };

struct choice {
  event what;
  uint32_t index;
  int weight;
};

class run {
 public:
  run(uint64_t seed, const sim_options& o)
      : options_(o),
        seed_(seed),
        rng_(seed * 0x9E3779B97F4A7C15ull + 1),
        k_(draw_knobs(rng_, o)),
        world_(world_options{k_.shards, k_.hold_ttl_s, k_.payment_ttl_s, k_.async,
                             o.lie_about_durability, o.dir}),
        model_(check_, world_.clock()),
        client_(world_, model_, rng_, k_.workload, o.trace) {
    model_.strict_reads = o.strict_reads;
  }

  seed_result go();

 private:
  bool step(phase p);
  void collect(phase p, std::vector<choice>& out);
  void perform(const choice& c);
  void advance_time();
  void crash_and_restart();
  bool quiet();
  bool progress_possible();
  bool sweep();
  void check_liveness();
  wal::loss draw_loss() { return static_cast<wal::loss>(draw(rng_, 0, wal::loss_modes - 1)); }
  void trace(const std::string& line) {
    if (options_.trace) options_.trace(line);
  }

  const sim_options& options_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  const knobs k_;
  checker check_;
  world world_;
  model model_;
  client client_;
  seed_result result_;
  wal::loss loss_ = wal::loss::drop;  // what the next power cut leaves
  int64_t last_timer_ms_ = 0;
  bool was_quiet_ = false;
  bool ended_ = false;  // a restart was refused as corrupt: nothing more to run
  std::vector<choice> enabled_;
};

seed_result run::go() {
  result_.knobs = k_.describe();
  loss_ = draw_loss();
  if (auto err = world_.boot(loss_, static_cast<unsigned>(seed_)); !err.empty()) {
    result_.failure = "the first boot refused: " + err;
    return result_;
  }
  last_timer_ms_ = world_.clock().now_ms();
  client_.send_setup(draw_products(rng_, k_));
  // The setup ends once answered and durable (with --durability async its answers come
  // first), so that a crash never takes the catalog away.
  auto set_up = [this] { return client_.setup_done() && quiet(); };
  for (uint64_t n = 0; n < setup_steps_max && !set_up() && !check_.failed(); ++n)
    if (!step(phase::setup)) sweep();
  if (!set_up()) check_.fail("the setup (catalog, addresses) never finished");
  for (uint64_t n = 0; n < main_steps_max && client_.requests_left() > 0; ++n) {
    if (check_.failed() || ended_) break;
    step(phase::main);
  }
  if (!check_.failed() && !ended_) check_liveness();
  result_.failure = check_.what();
  result_.requests = client_.answered();
  return result_;
}

// Picks one enabled thing at random, by weight, does it, and checks the invariants.
bool run::step(phase p) {
  enabled_.clear();
  collect(p, enabled_);
  int64_t total = 0;
  for (const auto& c : enabled_) total += c.weight;
  if (total == 0) return false;
  int64_t pick = draw(rng_, 0, total - 1);
  size_t k = 0;
  while ((pick -= enabled_[k].weight) >= 0) ++k;
  const choice c = enabled_[k];
  ++result_.steps;
  result_.digest = (result_.digest ^ (static_cast<uint64_t>(c.what) << 32 | c.index)) * 0x100000001B3ull;
  if (options_.trace)
    trace("step " + std::to_string(result_.steps) + ": " + event_names[static_cast<int>(c.what)] +
          " " + std::to_string(c.index));
  perform(c);
  world_.client_io().poll();
  if (ended_ || check_.failed()) return true;
  check_step(world_, model_, check_);
  bool now_quiet = quiet();
  if (now_quiet && !was_quiet_) check_quiet(world_, model_, check_);
  was_quiet_ = now_quiet;
  if (check_.failed()) trace("failed: " + check_.what());
  return true;
}

void run::collect(phase p, std::vector<choice>& out) {
  for (uint32_t i = 0; i < world_.shard_count(); ++i) {
    if (world_.blocked(i)) continue;  // its thread is between an enqueue and its count
    if (world_.asleep(i)) {
      out.push_back({event::wake, i, k_.wake});
      continue;
    }
    if (world_.at(i).inbox_depth() > 0) out.push_back({event::drain, i, k_.drain});
    if (world_.timer_pending(i)) out.push_back({event::poll, i, k_.poll});
    if (k_.sleep > 0) out.push_back({event::sleep, i, k_.sleep});
  }
  // A producer's counts come in its order; the threads outside the shards each post once.
  std::vector<char> first(world_.shard_count(), 1);
  for (uint32_t n = 0; n < world_.counts().size(); ++n) {
    int from = world_.counts()[n].producer;
    if (from >= 0 && !std::exchange(first[static_cast<size_t>(from)], 0)) continue;
    out.push_back({event::count, n, k_.count});
  }
  bool unsynced = false;
  for (uint32_t i = 0; i < world_.shard_count(); ++i) {
    if (!world_.log(i).sync_in_flight()) continue;
    out.push_back({event::sync, i, k_.sync[i]});
    unsynced = true;
  }
  for (uint32_t n = 0; n < world_.gateway().pending(); ++n) out.push_back({event::charge, n, k_.charge});
  if (p != phase::main) return;
  if (client_.can_send()) out.push_back({event::request, 0, k_.request});
  out.push_back({event::time, 0, k_.time});
  // A cut while bytes are unsynced is the one that can lose something: it is likelier.
  if (static_cast<int>(result_.crashes) < k_.crashes_max)
    out.push_back({event::crash, 0, k_.crash * (unsynced ? crash_unsynced_factor : 1)});
}

void run::perform(const choice& c) {
  shard* s = c.what <= event::wake ? &world_.at(c.index) : nullptr;
  switch (c.what) {
    case event::drain:
      s->step_drain(static_cast<size_t>(draw(rng_, 1, static_cast<int64_t>(k_.drain_max))));
      break;
    case event::poll:
      s->step_poll();
      break;
    case event::sleep:
      if (s->step_fall_asleep()) world_.set_asleep(c.index, true);
      break;
    case event::wake:
      if (s->step_wake()) world_.set_asleep(c.index, false);
      break;
    case event::count: {
      auto count = std::move(world_.counts()[c.index].count);
      world_.counts().erase(world_.counts().begin() + c.index);
      count();
      break;
    }
    case event::sync:
      world_.log(c.index).complete_sync();
      break;
    case event::charge:
      world_.gateway().answer(c.index);
      break;
    case event::request:
      client_.send_one();
      break;
    case event::time:
      advance_time();
      break;
    case event::crash:
      crash_and_restart();
      break;
  }
}

// Time moves on, now and then past a hold's or an unpaid order's deadline; each shard's
// periodic timer fires when a period has gone by, as it would.
void run::advance_time() {
  int64_t ms = draw(rng_, 1, k_.time_step_max_ms);
  if (draw(rng_, 0, 99) < k_.big_jump_percent)
    ms = (draw(rng_, 0, 1) ? k_.hold_ttl_s : k_.payment_ttl_s) * 1000 + big_jump_extra_ms;
  world_.clock().advance_ms(ms);
  if (world_.clock().now_ms() - last_timer_ms_ >= limits::shard_timer_period_ms) {
    last_timer_ms_ = world_.clock().now_ms();
    world_.fire_timers();
  }
}

void run::crash_and_restart() {
  ++result_.crashes;
  trace(std::string("crash: unsynced bytes ") + wal::name(loss_));
  wal::loss was = loss_;
  client_.lose_answers();
  world_.crash();
  loss_ = draw_loss();
  std::string err = world_.boot(loss_, static_cast<unsigned>(seed_ + result_.crashes));
  if (!err.empty()) {
    // A garbled tail may hold a bad record followed by a good one: refusing to start then
    // is right (recovery must not guess). Anything else is a failure.
    if (was != wal::loss::drop && err.find("corrupt") != std::string::npos) {
      ++result_.refused;
      ended_ = true;
      return;
    }
    check_.fail("the restart after a crash was refused: " + err);
    return;
  }
  reconcile(world_, model_, check_, !k_.async);
  was_quiet_ = false;
}

// Nothing is in flight anywhere: no request, no post, message, sync, charge or timer.
bool run::quiet() {
  if (client_.in_flight() > 0 || !world_.counts().empty() || world_.gateway().pending() > 0)
    return false;
  for (uint32_t i = 0; i < world_.shard_count(); ++i) {
    shard& s = world_.at(i);
    if (s.inbox_depth() != 0 || !world_.log(i).idle() || s.pending_durable() > 0 ||
        world_.timer_pending(i))
      return false;
  }
  return true;
}

bool run::progress_possible() {
  if (!world_.counts().empty() || world_.gateway().pending() > 0) return true;
  for (uint32_t i = 0; i < world_.shard_count(); ++i) {
    if (world_.log(i).sync_in_flight() || world_.timer_pending(i)) return true;
    if (!world_.asleep(i) && world_.at(i).inbox_depth() > 0) return true;
  }
  return false;
}

// Nothing but sleeping and waking is left: each shard's reactor gets one last look (a
// wake-up or timer ready wakes it). False when none had anything.
bool run::sweep() {
  bool any = false;
  for (uint32_t i = 0; i < world_.shard_count(); ++i) {
    if (world_.asleep(i)) {
      if (world_.at(i).step_wake()) {
        world_.set_asleep(i, false);
        any = true;
      }
    } else if (world_.at(i).step_poll() > 0) {
      any = true;
    }
  }
  world_.client_io().poll();
  return any;
}

// The workload stops; shards, logs, posts and the gateway run on (no time, no faults)
// until nothing can happen. Then every request must have its answer.
void run::check_liveness() {
  trace("the workload stops");
  for (uint64_t n = 0; n < liveness_steps_max && !check_.failed(); ++n) {
    if (!progress_possible() && !sweep()) break;
    step(phase::liveness);
  }
  if (check_.failed()) return;
  std::string shards;
  for (uint32_t i = 0; i < world_.shard_count(); ++i)
    shards += " shard " + std::to_string(i) + (world_.asleep(i) ? " asleep" : " awake") +
              " with " + std::to_string(world_.at(i).inbox_depth()) + " messages;";
  if (client_.in_flight() > 0)
    return check_.fail("liveness: " + std::to_string(client_.in_flight()) +
                       " requests never answered (" + client_.first_in_flight() + ");" + shards);
  if (!quiet()) return check_.fail("liveness: the store never went quiet;" + shards);
  check_quiet(world_, model_, check_);
}

}  // namespace

seed_result run_seed(uint64_t seed, const sim_options& options) {
  run r(seed, options);
  return r.go();
}

}  // namespace stampede::sim
