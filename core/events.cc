#include "core/events.h"

#include <memory>

#include "core/drop_ops.h"
#include "core/shard.h"
#include "core/topic.h"

namespace stampede::events {

namespace {

// Each watching shard hears the event once, whichever of its topics it watches.
void publish(shard& s, std::shared_ptr<const order_event> e) {
  std::vector<bool> to(s.routes().shard_count());
  bool any = false;
  for (const topic& t : {topic{topic_kind::orders, {}, e->now.user_id},
                         topic{topic_kind::order, e->now.id, {}},
                         topic{topic_kind::admin_orders, {}, {}}})
    any |= s.live().mark_watchers(topic_key(t), to);
  if (!any) return;
  for (uint32_t i = 0; i < to.size(); ++i) {
    if (!to[i]) continue;
    s.send(i, shard_task{[e](shard& home) {
             if (auto* sink = home.live().sink()) sink->order_changed(e);
           }});
  }
}

notification note_of(shard& s, const user_record& u, const order& o, std::string_view event) {
  notification n;
  n.id = s.next_id("ntf_", u.id);
  n.event = std::string(event);
  n.order_id = o.id;
  n.order_status_now = o.status;
  n.items = o.items;
  n.total = o.total;
  n.tracking_number = o.tracking_number;
  n.message = std::string(message_for(event));
  n.created_at_ms = s.now_ms();
  return n;
}

// What a watch of `t` is answered with, or why it may not watch.
result<watch_snapshot> snapshot_of(shard& s, const topic& t, const std::string& requester,
                                   bool admin) {
  watch_snapshot answer;
  switch (t.kind) {
    case topic_kind::product: {
      const product* p = s.products().find(t.id);
      if (!p || !p->active) return make_error(error_code::not_found, "no such product");
      answer.available = p->units.available();
      s.live().track_availability(p->id, p->units.available());
      return answer;
    }
    case topic_kind::order: {
      const order* o = s.orders().find(t.id);
      if (!o || (!admin && o->user_id != requester))
        return make_error(error_code::not_found, "no such order");
      answer.order_now = *o;
      return answer;
    }
    case topic_kind::orders:
    case topic_kind::admin_orders:
    case topic_kind::admin_stats:  // its figures come from server/'s stats publisher
      return answer;
    case topic_kind::queue: {
      auto ticket = drop_ops::watch(s, t.id, t.user);
      if (!ticket.ok()) return std::move(ticket).err();
      answer.ticket = std::move(ticket).value();
      answer.watched_queue = true;
      return answer;
    }
    default:
      return make_error(error_code::not_found, "no such topic");
  }
}

// The inbox, the webhook outbox, and (once durable) the watchers of `e`'s topics.
// `o`: the order the notification is about, if any (an email goes out for it).
void fan_out(shard& s, user_record& u, notification n, std::shared_ptr<order_event> e,
             const order* o) {
  if (e) e->note = n;
  std::string event_id;
  for (const auto& w : s.webhooks().registrations()) {
    if (!webhook_wants(w, n.event)) continue;
    if (event_id.empty()) event_id = s.next_id("evt_", u.id);
    s.record(webhook_event_queued{outbox_entry{event_id, w.id, n, n.created_at_ms}});
  }
  if (o && s.config().email && !o->email.empty()) {
    if (event_id.empty()) event_id = s.next_id("evt_", u.id);
    s.record(email_queued{email_entry{event_id, n, *o, n.created_at_ms}});
  }
  s.record(notice_effect(u.id, std::move(n)));
  // Watchers hear of it once it is durable, as the client that caused it does.
  if (e) s.when_durable([&s, e = std::move(e)]() mutable { publish(s, std::move(e)); });
}

}  // namespace

void notify(shard& s, user_record& u, const order& o, std::string_view event) {
  notification n = note_of(s, u, o, event);
  std::shared_ptr<order_event> e;
  if (!s.live().empty()) {
    e = std::make_shared<order_event>();
    e->now = o;
    e->status_changed = event != "order.payment_failed" && event != "order.refunded";
    if (o.history.size() >= 2) e->previous = o.history[o.history.size() - 2].status;
  }
  fan_out(s, u, std::move(n), std::move(e), &o);
}

void notify_user(shard& s, user_record& u, notification n) {
  std::shared_ptr<order_event> e;
  if (!s.live().empty()) {
    e = std::make_shared<order_event>();
    e->now.user_id = u.id;  // no order: only the owner's `orders` watchers hear of it
  }
  fan_out(s, u, std::move(n), std::move(e), nullptr);
}

void watch(shard& s, const std::string& key, const std::string& requester, bool admin,
           uint32_t from, uint64_t ticket) {
  auto t = parse_topic_key(key);
  result<watch_snapshot> answer =
      t ? snapshot_of(s, *t, requester, admin) : make_error(error_code::not_found, "no such topic");
  if (answer.ok()) s.live().add(key, from);
  s.send(from, shard_task{[ticket, answer = std::move(answer)](shard& home) mutable {
           if (auto* sink = home.live().sink()) sink->watch_answered(ticket, std::move(answer));
         }});
}

void unwatch(shard& s, const std::string& key, uint32_t from) {
  s.live().remove(key, from);
  if (auto t = parse_topic_key(key); t && t->kind == topic_kind::queue)
    drop_ops::unwatch(s, t->id, t->user);
}

void publish_availability(shard& s) {
  auto& published = s.live().published_availability();
  if (published.empty()) return;
  int64_t now = s.now_ms();
  for (auto& [product_id, last] : published) {
    const product* p = s.products().find(product_id);
    if (!p || p->units.available() == last) continue;
    last = p->units.available();
    const auto* counts = s.live().watchers(topic_key(topic{topic_kind::product, product_id, {}}));
    if (!counts) continue;
    for (uint32_t i = 0; i < counts->size(); ++i) {
      if ((*counts)[i] == 0) continue;
      s.send(i, shard_task{[id = product_id, available = last, now](shard& home) {
               if (auto* sink = home.live().sink()) sink->availability(id, available, now);
             }});
    }
  }
}

void replace_webhooks(shard& s, std::vector<webhook> list) {
  s.record(webhooks_replaced{std::move(list)});
}

}  // namespace stampede::events
