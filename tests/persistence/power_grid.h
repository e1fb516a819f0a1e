// The power-loss device of the persistence tests and the simulator (tests/sim/): the log
// devices of one machine on one power supply. Each keeps what was synced and what was only
// written; when the power goes (at a chosen sync, or when the simulator says), each keeps
// its synced bytes plus what the failure mode leaves of the rest: nothing, a prefix,
// garbage, zeros, or holes (some 512-byte sectors of it never reached the disk and read as
// zeros, as in a file zeroed ahead, while later ones did). No write or sync succeeds after
// that. Like SQLite's crash-test file system. Thread-safety: any thread (one mutex; the
// WAL's I/O threads share a grid).
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "persistence/wal_writer.h"

namespace stampede::wal {

enum class loss : int { drop, prefix, garble, zeros, holes };
inline constexpr int loss_modes = 5;
inline const char* name(loss l) {
  static const char* names[] = {"drop", "prefix", "garble", "zeros", "holes"};
  return names[static_cast<int>(l)];
}

class power_grid {
 public:
  // The power goes at the cut_at_sync-th sync counted over all devices; 0: only cut_now().
  power_grid(int devices, int cut_at_sync, loss mode, unsigned seed)
      : devices_(static_cast<size_t>(devices)), cut_at_(cut_at_sync), mode_(mode), rng_(seed) {}

  // What device d held before this boot (the log recovery left), counted as synced.
  void preload(int d, std::string synced) {
    std::lock_guard lock(mu_);
    devices_[static_cast<size_t>(d)].synced = std::move(synced);
  }
  bool append(int d, std::string_view bytes) {
    std::lock_guard lock(mu_);
    if (cut_) return false;
    devices_[static_cast<size_t>(d)].written.append(bytes);
    return true;
  }
  bool sync(int d) {
    std::lock_guard lock(mu_);
    if (cut_) return false;
    if (++syncs_ == cut_at_) {
      cut_locked();
      return false;
    }
    auto& dev = devices_[static_cast<size_t>(d)];
    dev.synced += dev.written;
    dev.written.clear();
    return true;
  }
  // The power goes now.
  void cut_now() {
    std::lock_guard lock(mu_);
    if (!cut_) cut_locked();
  }
  bool cut() {
    std::lock_guard lock(mu_);
    return cut_;
  }
  // What a device holds after the cut (or, if the power never went, what it synced).
  std::string image(int d) {
    std::lock_guard lock(mu_);
    const auto& dev = devices_[static_cast<size_t>(d)];
    return cut_ ? dev.image : dev.synced;
  }

 private:
  void cut_locked() {
    for (auto& dev : devices_) dev.image = dev.synced + mangled(dev.written, dev.synced.size());
    cut_ = true;
  }
  // What is left of `unsynced`, which starts at offset `at` of the device.
  std::string mangled(const std::string& unsynced, size_t at) {
    std::string out = unsynced;
    switch (mode_) {
      case loss::drop:
        return "";
      case loss::prefix:
        return out.substr(0, out.empty() ? 0 : rng_() % out.size());
      case loss::garble:
        for (auto& c : out)
          if (rng_() % 4 == 0) c = static_cast<char>(rng_());
        return out;
      case loss::zeros:
        return std::string(out.size(), '\0');
      case loss::holes:
        // Each sector of the file the write touched reached the disk or did not.
        for (size_t block = at / 512 * 512; block < at + out.size(); block += 512)
          if (rng_() % 2 == 0)
            for (size_t k = std::max(block, at); k < std::min(block + 512, at + out.size()); ++k)
              out[k - at] = '\0';
        return out;
    }
    return out;
  }

  struct device_state {
    std::string synced, written, image;
  };
  std::mutex mu_;
  std::vector<device_state> devices_;
  int syncs_ = 0;
  const int cut_at_;
  const loss mode_;
  std::mt19937 rng_;
  bool cut_ = false;
};

// One device of a grid, as the WAL writer sees it.
class grid_device final : public log_device {
 public:
  grid_device(power_grid& grid, int index) : grid_(grid), index_(index) {}
  bool append(std::string_view bytes) override { return grid_.append(index_, bytes); }
  bool sync() override { return grid_.sync(index_); }

 private:
  power_grid& grid_;
  int index_;
};

}  // namespace stampede::wal
