// A drop book driven by hand: every effect a rule emits is kept (the log) and applied at
// once, as a shard records it; replay() builds a second book from that log, as a restart does.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/drop_book.h"
#include "core/crypto.h"
#include "core/limits.h"

namespace stampede::testing {

inline constexpr int64_t t0_ms = 1'795'000'000'000;  // "now" when a drop is defined

inline drop_definition queue_drop(std::string id = "fall-drop", int64_t opens_in_ms = 60'000) {
  drop_definition d;
  d.id = std::move(id);
  d.product_ids = {"sku-1"};
  d.mode = drop_mode::queue;
  d.opens_at_ms = t0_ms + opens_in_ms;
  return d;
}

inline drop_definition draw_drop(std::string id = "raffle", int64_t opens_in_ms = 60'000,
                                 int64_t closes_in_ms = 3'600'000) {
  drop_definition d = queue_drop(std::move(id), opens_in_ms);
  d.mode = drop_mode::draw;
  d.draw_closes_at_ms = t0_ms + closes_in_ms;
  return d;
}

inline std::string fresh_seed() {
  auto s = random_bytes(limits::drop_seed_bytes);
  EXPECT_TRUE(s.has_value());
  return *s;
}

struct drop_recorder {
  drop_book book;
  std::vector<drop_effect> log;
  admission_signer signer{"test-secret"};

  void record(drop_effect&& e) {
    log.push_back(e);
    book.apply(log.back());
  }
  // The emit callback rules take.
  auto emitter() {
    return [this](drop_effect&& e) { record(std::move(e)); };
  }
  drop& create(drop_definition d, std::string seed = fresh_seed()) {
    std::string id = d.id;
    EXPECT_FALSE(book.check_create(d, t0_ms).has_value());
    auto emit = emitter();
    book.create(std::move(d), std::move(seed), t0_ms, emit);
    return *book.find(id);
  }
  // A second book rebuilt from the log alone.
  drop_book replay() const {
    drop_book b;
    for (const auto& e : log) b.apply(e);
    return b;
  }
};

inline product_supply supply(int64_t available, int64_t reserved = 0, int64_t max_per_user = 1) {
  return product_supply{true, available, reserved, max_per_user};
}

}  // namespace stampede::testing
