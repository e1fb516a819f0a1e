#include "core/change_tracker.h"

#include <type_traits>

#include "core/check.h"

namespace stampede {

namespace {

// The unit an effect changes: its kind, and the id for products and users.
std::pair<unit_kind, const std::string*> unit_of(const effect& e) {
  return std::visit(
      [](const auto& x) -> std::pair<unit_kind, const std::string*> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, product_created> || std::is_same_v<T, product_restored>) {
          return {unit_kind::product, &x.fields.id};
        } else if constexpr (std::is_same_v<T, product_patched> || std::is_same_v<T, on_hand_set> ||
                             std::is_same_v<T, product_deactivated>) {
          return {unit_kind::product, &x.product_id};
        } else if constexpr (std::is_same_v<T, shipping_methods_replaced>) {
          return {unit_kind::shipping, nullptr};
        } else if constexpr (std::is_same_v<T, webhooks_replaced>) {
          return {unit_kind::webhooks, nullptr};
        } else if constexpr (std::is_same_v<T, webhook_event_queued> ||
                             std::is_same_v<T, webhook_event_done>) {
          return {unit_kind::outbox, nullptr};
        } else if constexpr (std::is_same_v<T, email_queued> || std::is_same_v<T, email_done>) {
          return {unit_kind::mail, nullptr};
        } else if constexpr (std::is_same_v<T, order_placed> || std::is_same_v<T, order_updated>) {
          return {unit_kind::user, &x.value.user_id};
        } else if constexpr (std::is_same_v<T, drop_created>) {
          return {unit_kind::drop, &x.definition.id};
        } else if constexpr (std::is_same_v<T, drop_status_set> || std::is_same_v<T, drop_ticket_set> ||
                             std::is_same_v<T, drop_ticket_removed> || std::is_same_v<T, drop_entry_set>) {
          return {unit_kind::drop, &x.drop_id};
        } else if constexpr (std::is_same_v<T, waitlist_entry_set> ||
                             std::is_same_v<T, waitlist_entry_removed> ||
                             std::is_same_v<T, product_limits_set>) {
          return {unit_kind::product, &x.product_id};  // a waitlist goes with its product
        } else {
          return {unit_kind::user, &x.user_id};
        }
      },
      e);
}

const std::string no_id;

}  // namespace

bool* change_tracker::whole_unit_flag(round& r, unit_kind kind) {
  switch (kind) {
    case unit_kind::shipping:
      return &r.shipping;
    case unit_kind::webhooks:
      return &r.webhooks;
    case unit_kind::outbox:
      return &r.outbox;
    case unit_kind::mail:
      return &r.mail;
    default:
      return nullptr;
  }
}

absl::flat_hash_set<std::string>& change_tracker::ids_of(round& r, unit_kind kind) {
  return kind == unit_kind::product ? r.products : kind == unit_kind::drop ? r.drops : r.users;
}

absl::flat_hash_set<std::string>::const_iterator& change_tracker::cursor_of(round& r,
                                                                          unit_kind kind) {
  return kind == unit_kind::product ? r.next_product
         : kind == unit_kind::drop  ? r.next_drop
                                    : r.next_user;
}

void change_tracker::note(const effect& e, capture_fn capture) {
  auto [kind, id] = unit_of(e);
  if (run_ && run_->started) {
    // Copy-on-write: the snapshot is the state at its log position, so a unit it has not
    // taken yet is taken now, before this effect changes it.
    round& r = *run_;
    if (bool* whole = whole_unit_flag(r, kind)) {
      if (std::exchange(*whole, false)) r.chunk.push_back(capture(kind, no_id));
    } else if (ids_of(r, kind).contains(*id)) {
      std::string key = static_cast<char>(kind) + *id;
      if (r.taken_early.insert(std::move(key)).second) r.chunk.push_back(capture(kind, *id));
    }
  }
  switch (kind) {
    case unit_kind::shipping:
      shipping_ = true;
      break;
    case unit_kind::webhooks:
      webhooks_ = true;
      break;
    case unit_kind::outbox:
      outbox_ = true;
      break;
    case unit_kind::mail:
      mail_ = true;
      break;
    case unit_kind::product:
      products_.insert(*id);
      break;
    case unit_kind::user:
      users_.insert(*id);
      break;
    case unit_kind::drop:
      drops_.insert(*id);
      break;
  }
}

void change_tracker::forget() {
  users_.clear();
  products_.clear();
  drops_.clear();
  shipping_ = webhooks_ = outbox_ = mail_ = false;
}

bool change_tracker::begin(snapshot_sink* sink) {
  if (run_) return false;
  run_ = std::make_unique<round>();
  run_->sink = sink;
  return true;
}

void change_tracker::start(uint64_t lsn) {
  STAMPEDE_CHECK(run_ && !run_->started);
  round& r = *run_;
  r.started = true;
  r.lsn = lsn;
  r.users.swap(users_);
  r.products.swap(products_);
  r.drops.swap(drops_);
  r.next_user = r.users.begin();
  r.next_product = r.products.begin();
  r.next_drop = r.drops.begin();
  r.shipping = std::exchange(shipping_, false);
  r.webhooks = std::exchange(webhooks_, false);
  r.outbox = std::exchange(outbox_, false);
  r.mail = std::exchange(mail_, false);
}

bool change_tracker::step(uint32_t shard, size_t budget, capture_fn capture) {
  STAMPEDE_CHECK(started());
  round& r = *run_;
  for (unit_kind kind :
       {unit_kind::shipping, unit_kind::webhooks, unit_kind::outbox, unit_kind::mail}) {
    if (std::exchange(*whole_unit_flag(r, kind), false)) r.chunk.push_back(capture(kind, no_id));
  }
  std::string key;
  for (unit_kind kind : {unit_kind::product, unit_kind::user, unit_kind::drop}) {
    auto& next = cursor_of(r, kind);
    const auto end = ids_of(r, kind).end();
    for (; budget > 0 && next != end; ++next) {
      if (!r.taken_early.empty()) {  // most rounds take nothing early
        key.assign(1, static_cast<char>(kind));
        key += *next;
        if (r.taken_early.contains(key)) continue;
      }
      r.chunk.push_back(capture(kind, *next));
      --budget;
    }
  }
  if (!r.chunk.empty()) r.sink->units(shard, std::exchange(r.chunk, {}));
  return r.next_user == r.users.end() && r.next_product == r.products.end() &&
         r.next_drop == r.drops.end();
}

std::pair<snapshot_sink*, uint64_t> change_tracker::finish() {
  STAMPEDE_CHECK(started());
  std::pair<snapshot_sink*, uint64_t> done{run_->sink, run_->lsn};
  run_.reset();
  return done;
}

}  // namespace stampede
