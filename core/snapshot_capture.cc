// Snapshot capture: the shard's side of a snapshot round (change_tracker.h keeps which
// units changed and the round's cursors; persistence/snapshot.h writes what is sent).
#include <chrono>

#include "core/shard.h"

namespace stampede {

void shard::begin_snapshot(snapshot_sink* sink) {
  if (!changes_.begin(sink)) return;  // one runs already
  snapshot_step();
}

void shard::snapshot_step() {
  if (!changes_.running()) return;
  if (!changes_.started()) {
    if (!product_admin_.idle()) {
      // A product change may be logged and not yet applied (new stock waits for its
      // record to be durable); the snapshot's position would claim it. Try again shortly.
      snapshot_timer_.expires_after(std::chrono::milliseconds(1));
      snapshot_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        snapshot_step();
        end_of_pass();
      });
      return;
    }
    changes_.start(last_lsn_);
  }
  auto capture_unit = [this](unit_kind kind, const std::string& id) { return capture(kind, id); };
  if (!changes_.step(index_, config_.snapshot_units_per_turn, capture_unit)) {
    // The next turn comes from the loop, after its next batch of messages. (Posted to the
    // io_context, it would run at once: poll() runs what its handlers post, and the round
    // would hold the mailbox until it was done: 2.4 s at a million units.)
    snapshot_turn_due_ = true;
    return;
  }
  // The state through the round's position is taken; it counts once the log is durable
  // that far.
  auto [sink, lsn] = changes_.finish();
  when_durable([sink, index = index_, lsn] { sink->covered(index, lsn); });
}

snapshot_unit shard::capture(unit_kind kind, const std::string& id) const {
  snapshot_unit unit;
  unit.key.reserve(1 + id.size());
  unit.key.push_back(static_cast<char>(kind));
  unit.key += id;
  switch (kind) {
    case unit_kind::shipping:
      unit.effects.emplace_back(shipping_methods_replaced{shipping_});
      break;
    case unit_kind::webhooks:
      unit.effects.emplace_back(webhooks_replaced{webhooks_.registrations()});
      break;
    case unit_kind::outbox:
      for (const auto& [key, entry] : webhooks_.events())
        unit.effects.emplace_back(webhook_event_queued{entry});
      break;
    case unit_kind::mail:
      for (const auto& [key, entry] : mail_.mails()) unit.effects.emplace_back(email_queued{entry});
      break;
    case unit_kind::product:
      if (const product* p = catalog_.find(id)) {
        unit.effects.emplace_back(product_restored{
            product_create{p->id, p->name, p->description, p->price, p->images,
                           p->units.on_hand(), p->max_per_user, p->sale_starts_at_ms,
                           p->sale_ends_at_ms, p->max_per_address, p->max_per_card},
            p->active, p->version});
        if (p->max_per_address || p->max_per_card)  // not in product_restored's encoding
          unit.effects.emplace_back(product_limits_set{p->id, p->max_per_address, p->max_per_card});
      }
      drop_gate_.lists().for_each_of(id, [&](const waitlist_entry& e) {
        unit.effects.emplace_back(waitlist_entry_set{id, e});
      });
      break;
    case unit_kind::drop:
      if (const drop* d = drops_.find(id)) {
        d->capture([&](drop_effect&& e) {
          std::visit([&](auto&& x) { unit.effects.emplace_back(std::move(x)); }, std::move(e));
        });
      }
      break;
    case unit_kind::user:
      capture_user(id, unit.effects);
      break;
  }
  return unit;
}

void shard::capture_user(const std::string& id, std::vector<effect>& out) const {
  const user_record* u = users_.find(id);
  if (!u) return;
  // Orders first: placing one empties the cart, which comes next.
  for (const auto& order_id : u->order_ids)
    if (const order* o = orders_.find(order_id)) {
      out.emplace_back(order_placed{*o});
      for (const auto& p : o->payments)  // not in the order's encoding
        if (!p.card_fingerprint.empty())
          out.emplace_back(card_fingerprint_set{id, o->id, p.id, p.card_fingerprint});
    }
  out.emplace_back(cart_replaced{id, u->basket});
  for (const auto& a : u->addresses) out.emplace_back(address_added{id, a});
  for (const auto& n : u->notifications) out.emplace_back(notice_effect(id, n));
  idempotency_.for_each_of(id, [&](const std::string& scope_key, const auto& e) {
    out.emplace_back(
        idempotency_kept{id, scope_key, e.fingerprint, e.stored_at_ms, e.kind, e.answer});
  });
}

}  // namespace stampede
