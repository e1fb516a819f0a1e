// A shard's write-ahead log in the simulator: the real record encoding (wal::append_record)
// on a power_grid device, with the hand-off of wal_writer (one batch in flight; what is
// appended meanwhile waits for the next) but no I/O thread. A batch goes to the device's
// page cache at once; its sync completes when the scheduler says (complete_sync), which
// then tells the shard with a message, as the writer's I/O thread does.
// Single-threaded: the simulator's thread only (the shard calls it inside its steps).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "core/effect.h"
#include "persistence/wal_format.h"
#include "tests/persistence/power_grid.h"

namespace stampede::sim {

class sim_log final : public effect_log {
 public:
  // `synced(lsn)` hands a completed sync to the shard (a message, as recovery's writer
  // does). `lie_about_durability`: the simulator's own mutant (never in production): the
  // log calls a record durable once appended, so the shard frees stock before it is.
  sim_log(wal::power_grid& grid, int device, uint64_t last_sequence,
          absl::AnyInvocable<void(uint64_t)> synced, bool lie_about_durability = false)
      : grid_(grid),
        device_(device),
        appended_(last_sequence),
        durable_(last_sequence),
        synced_(std::move(synced)),
        lie_(lie_about_durability) {}

  uint64_t append(const effect& e) override {
    // As the real log: a record over its size is refused (0), and nothing is appended.
    if (!wal::append_record(batch_, appended_ + 1, e)) return 0;
    return ++appended_;
  }
  void flush() override {
    if (batch_.empty() || in_flight_lsn_ != 0) return;  // grows until the sync in flight ends
    grid_.append(device_, batch_);
    batch_.clear();
    in_flight_lsn_ = appended_;
  }
  uint64_t durable_lsn() const override { return lie_ ? appended_ : durable_; }
  void mark_durable(uint64_t lsn) override {
    durable_ = std::max(durable_, lsn);
    flush();  // what piled up meanwhile goes next
  }

  bool sync_in_flight() const { return in_flight_lsn_ != 0; }
  bool idle() const { return in_flight_lsn_ == 0 && batch_.empty(); }
  // The scheduler's word: the sync in flight completes. Nothing is acknowledged when the
  // device refuses (the power is gone).
  void complete_sync() {
    uint64_t lsn = std::exchange(in_flight_lsn_, 0);
    if (lsn != 0 && grid_.sync(device_)) synced_(lsn);
  }

 private:
  wal::power_grid& grid_;
  const int device_;
  uint64_t appended_;
  uint64_t durable_;
  uint64_t in_flight_lsn_ = 0;  // 0: no sync in flight
  std::string batch_;           // appended since the last hand-off
  absl::AnyInvocable<void(uint64_t)> synced_;
  const bool lie_;
};

}  // namespace stampede::sim
