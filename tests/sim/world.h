// The simulated machine: one engine of real shards, driven a step at a time on this thread
// (shard::step_*), its logs on a power grid (sim_log), a manual clock, a payment gateway
// whose charges complete when the scheduler says, and a data directory that every boot
// goes through (wal::open_data_dir, the real recovery). It holds everything pending that
// the scheduler may pick next: the counts of posts not yet made, each log's sync in flight,
// charges, the shards' sleep and timers. Single-threaded: the simulator's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "core/engine.h"
#include "core/payments.h"
#include "core/shard.h"
#include "persistence/recovery.h"
#include "tests/persistence/power_grid.h"
#include "tests/sim/sim_log.h"

namespace stampede::sim {

struct world_options {
  uint32_t shards = 2;
  int64_t hold_ttl_s = 30;
  int64_t payment_ttl_s = 60;
  bool answer_before_durable = false;  // --durability async
  bool lie_about_durability = false;   // the mutant of sim_log.h
  std::string dir;                     // the data directory (emptied first)
};

// A post whose count is not made yet. `producer`: the shard that posted, or -1 for a thread
// outside the shards (a client, the gateway, a log's I/O thread).
struct pending_count {
  int producer = -1;
  mailbox<message>::count_fn count;
};

// Charges wait here until the scheduler lets the sandbox's table of cards answer one.
class sim_gateway final : public payment_gateway {
 public:
  void charge(charge_request request, absl::AnyInvocable<void(charge_outcome)> done) override {
    pending_.emplace_back(std::move(request), std::move(done));
  }
  size_t pending() const { return pending_.size(); }
  void answer(size_t k);
  void drop_all() { pending_.clear(); }

 private:
  sandbox_gateway sandbox_;
  std::vector<std::pair<charge_request, absl::AnyInvocable<void(charge_outcome)>>> pending_;
};

class world {
 public:
  explicit world(world_options options);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  // Starts the store from its directory through the real recovery. `next_loss` is what the
  // next power cut leaves of unsynced bytes. "" or why the store refused to start.
  std::string boot(wal::loss next_loss, unsigned loss_seed);
  // The power goes: each log keeps what was synced plus what the loss leaves of the rest,
  // and everything in memory dies. The logs' images become the directory's files.
  void crash();
  bool up() const { return engine_ != nullptr; }

  engine& store() { return *engine_; }
  shard& at(uint32_t i) { return engine_->shard_at(i); }
  uint32_t shard_count() const { return options_.shards; }
  const router& routes() const { return routes_; }
  manual_clock& clock() { return clock_; }
  boost::asio::io_context& client_io() { return client_io_; }
  const world_options& options() const { return options_; }

  // What the scheduler may pick.
  std::vector<pending_count>& counts() { return counts_; }
  // A shard whose thread is between an enqueue and its count does nothing else meanwhile.
  bool blocked(uint32_t i) const;
  sim_log& log(uint32_t i) { return *logs_[i]; }
  sim_gateway& gateway() { return gateway_; }
  bool asleep(uint32_t i) const { return asleep_[i]; }
  void set_asleep(uint32_t i, bool asleep) { asleep_[i] = asleep; }
  // Every shard's periodic timer fires: tick() is ready in its io_context (once).
  void fire_timers();
  bool timer_pending(uint32_t i) const { return timers_pending_[i]; }

 private:
  std::string install_logs();
  void teardown();

  const world_options options_;
  const router routes_;
  manual_clock clock_;
  sim_gateway gateway_;
  boost::asio::io_context client_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> client_guard_;

  // One boot's worth; a crash drops it all.
  std::unique_ptr<wal::power_grid> grid_;
  std::unique_ptr<engine> engine_;
  std::unique_ptr<wal::data_dir_lock> lock_;
  std::vector<std::string> segments_;  // each shard's last log segment
  std::vector<sim_log*> logs_;  // owned by their shards
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<pending_count> counts_;
  std::vector<bool> asleep_;
  std::vector<bool> timers_pending_;
};

}  // namespace stampede::sim
