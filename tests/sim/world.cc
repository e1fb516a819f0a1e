#include "tests/sim/world.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <boost/asio/post.hpp>

#include "persistence/files.h"
#include "persistence/wal_reader.h"

namespace stampede::sim {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

void sim_gateway::answer(size_t k) {
  auto [request, done] = std::move(pending_[k]);
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(k));
  // The sandbox answers at once; `done` posts the outcome to the user's shard.
  sandbox_.charge(std::move(request), std::move(done));
}

world::world(world_options options)
    : options_(std::move(options)),
      routes_(options_.shards),
      client_guard_(boost::asio::make_work_guard(client_io_)) {
  std::filesystem::remove_all(options_.dir);
  std::filesystem::create_directories(options_.dir);
}

world::~world() {
  teardown();
  std::error_code ec;
  std::filesystem::remove_all(options_.dir, ec);
}

std::string world::boot(wal::loss next_loss, unsigned loss_seed) {
  engine_config cfg;
  cfg.shards = options_.shards;
  cfg.hold_ttl_s = options_.hold_ttl_s;
  cfg.payment_ttl_s = options_.payment_ttl_s;
  cfg.time = &clock_;
  cfg.run_timers = false;  // the scheduler fires them
  cfg.gateway = &gateway_;
  cfg.user_requests_per_s = 0;
  cfg.answer_before_durable = options_.answer_before_durable;
  // Admission by queueing time reads the real clock: off here (a write never waits too
  // long on a simulated clock), so that a seed replays the same. Overload has its own tests.
  cfg.writes.target_ns = cfg.writes.interval_ns = int64_t{1} << 60;
  engine_ = std::make_unique<engine>(cfg);
  lock_ = std::make_unique<wal::data_dir_lock>();
  wal::recovery_report report;
  std::string err = wal::open_data_dir(*engine_, options_.dir, report, *lock_);
  if (err.empty()) {
    grid_ = std::make_unique<wal::power_grid>(static_cast<int>(options_.shards), 0, next_loss,
                                              loss_seed);
    err = install_logs();
  }
  if (!err.empty()) {
    teardown();
    return err;
  }
  asleep_.assign(options_.shards, false);
  timers_pending_.assign(options_.shards, false);
  return "";
}

// Each shard's log becomes a sim_log continuing the segment recovery left (the writer that
// recovery opened is dropped unused), and each inbox hands its counts to the scheduler.
std::string world::install_logs() {
  segments_.clear();
  for (uint32_t i = 0; i < options_.shards; ++i) {
    auto segments = wal::list_segments(options_.dir, i);
    if (segments.empty()) return "recovery left shard " + std::to_string(i) + " no log segment";
    segments_.push_back(segments.back().path);
    auto read = wal::read_log(segments_[i], [](effect&&) {}, segments.back().first_sequence);
    if (read.corruption || read.torn_tail)
      return "recovery left shard " + std::to_string(i) + "'s log with a bad tail";
    grid_->preload(static_cast<int>(i), read_file(segments_[i]));
    auto synced = [this, i](uint64_t lsn) {
      at(i).post(shard_task{[lsn](shard& s) { s.on_log_synced(lsn); }});
    };
    auto log = std::make_unique<sim_log>(*grid_, static_cast<int>(i), read.last_sequence, synced,
                                         options_.lie_about_durability);
    logs_.push_back(log.get());
    at(i).set_log(std::move(log));
    at(i).inbox().defer_counts([this](mailbox<message>::count_fn count) {
      const shard* from = shard::current();
      counts_.push_back({from ? static_cast<int>(from->index()) : -1, std::move(count)});
    });
    guards_.push_back(boost::asio::make_work_guard(at(i).io()));
  }
  return "";
}

void world::crash() {
  grid_->cut_now();
  std::vector<std::string> images;
  for (uint32_t i = 0; i < options_.shards; ++i) images.push_back(grid_->image(static_cast<int>(i)));
  teardown();
  for (uint32_t i = 0; i < options_.shards; ++i)
    std::ofstream(segments_[i], std::ios::binary | std::ios::trunc) << images[i];
}

// Everything in memory dies: first what holds a user's turn from outside the shards (the
// gateway's charges), with the shards' users closed so that ending a turn starts nothing.
void world::teardown() {
  if (!engine_) return;
  // A crash: every request still pending (a charge at the gateway, a message in flight)
  // dies unanswered with the process, which the reply contract allows only in a drop window.
  ++reply_drop_window::open;
  for (uint32_t i = 0; i < options_.shards; ++i) at(i).users().close();
  gateway_.drop_all();
  counts_.clear();
  guards_.clear();
  logs_.clear();
  engine_.reset();
  lock_.reset();
  grid_.reset();
  --reply_drop_window::open;
}

bool world::blocked(uint32_t i) const {
  for (const auto& c : counts_)
    if (c.producer == static_cast<int>(i)) return true;
  return false;
}

void world::fire_timers() {
  for (uint32_t i = 0; i < options_.shards; ++i) {
    if (timers_pending_[i]) continue;
    timers_pending_[i] = true;
    boost::asio::post(at(i).io(), [this, i] {
      timers_pending_[i] = false;
      at(i).tick();
    });
  }
}

}  // namespace stampede::sim
