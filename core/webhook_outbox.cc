#include "core/webhook_outbox.h"

#include <algorithm>

#include "core/check.h"
#include "core/limits.h"

namespace stampede {

const std::vector<webhook>& webhook_outbox::registrations() const {
  STAMPEDE_DCHECK(owner_.is_current());
  return webhooks_;
}

const absl::btree_map<webhook_outbox::key, outbox_entry>& webhook_outbox::events() const {
  STAMPEDE_DCHECK(owner_.is_current());
  return events_;
}

void webhook_outbox::done(const key& k) {
  STAMPEDE_DCHECK(owner_.is_current());
  if (!events_.contains(k)) return;
  recorder_.record(webhook_event_done{std::get<0>(k), std::get<1>(k), std::get<2>(k)});
}

void webhook_outbox::replace(std::vector<webhook>&& list) {
  webhooks_ = std::move(list);
  // Events for a webhook that is gone go with it.
  absl::erase_if(events_, [&](const auto& kv) {
    return std::none_of(webhooks_.begin(), webhooks_.end(),
                        [&](const webhook& w) { return w.id == kv.second.webhook_id; });
  });
}

void webhook_outbox::queue(outbox_entry&& entry) {
  key k{entry.created_at_ms, entry.event_id, entry.webhook_id};
  events_.insert_or_assign(std::move(k), std::move(entry));
  ++arrivals_;
  if (events_.size() > limits::webhook_outbox_max) {
    events_.erase(events_.begin());
    ++dropped_;
  }
}

void webhook_outbox::remove(const key& k) { events_.erase(k); }

}  // namespace stampede
