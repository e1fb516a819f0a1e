#include "core/write_gate.h"

namespace stampede {

bool write_gate::standing(int64_t now_ns) const {
  int64_t head = head_ns_.load(std::memory_order_relaxed);
  return head != 0 && now_ns - last_empty_ns_.load(std::memory_order_relaxed) > config_.interval_ns;
}

bool write_gate::admit(int64_t now_ns) const {
  int64_t head = head_ns_.load(std::memory_order_relaxed);
  if (head == 0) return true;
  int64_t allowed = standing(now_ns) ? config_.target_ns : config_.interval_ns;
  return now_ns - head <= allowed;
}

}  // namespace stampede
