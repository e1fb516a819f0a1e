#include "core/email_outbox.h"

#include "core/check.h"
#include "core/limits.h"

namespace stampede {

const absl::btree_map<email_outbox::key, email_entry>& email_outbox::mails() const {
  STAMPEDE_DCHECK(owner_.is_current());
  return mails_;
}

void email_outbox::done(const key& k) {
  STAMPEDE_DCHECK(owner_.is_current());
  if (!mails_.contains(k)) return;
  recorder_.record(email_done{k.first, k.second});
}

void email_outbox::queue(email_entry&& entry) {
  key k{entry.created_at_ms, entry.event_id};
  mails_.insert_or_assign(std::move(k), std::move(entry));
  ++arrivals_;
  if (mails_.size() > limits::email_outbox_max) {
    mails_.erase(mails_.begin());
    ++dropped_;
  }
}

void email_outbox::remove(const key& k) { mails_.erase(k); }

}  // namespace stampede
