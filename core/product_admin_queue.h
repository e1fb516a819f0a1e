// Catalog admin changes of one product run one at a time, each after the last one's record
// is durable (new stock may be granted only then), so two admins' changes of one product
// never interleave. Snapshot rounds wait while any runs: a change may be logged and not yet
// applied. Shard-local: only the product's shard thread touches a product_admin_queue.
#pragma once

#include <deque>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "core/check.h"

namespace stampede {

class product_admin_queue {
 public:
  using finish_fn = absl::AnyInvocable<void()>;
  using op = absl::AnyInvocable<void(finish_fn finish)>;

  // Runs op(finish) now, or after the changes of this product queued before it; the op
  // calls finish() once its change is done (durable and answered).
  void run(const std::string& product_id, op change) {
    auto it = queues_.find(product_id);
    if (it != queues_.end()) {
      it->second.push_back(std::move(change));
      return;
    }
    queues_[product_id];
    start(product_id, std::move(change));
  }
  bool idle() const { return queues_.empty(); }

 private:
  void start(const std::string& product_id, op change) {
    change([this, product_id] {
      auto it = queues_.find(product_id);
      STAMPEDE_CHECK(it != queues_.end());
      if (it->second.empty()) {
        queues_.erase(it);
        return;
      }
      auto next = std::move(it->second.front());
      it->second.pop_front();
      start(product_id, std::move(next));
    });
  }

  absl::flat_hash_map<std::string, std::deque<op>> queues_;
};

}  // namespace stampede
