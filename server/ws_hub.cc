#include "server/ws_hub.h"

#include <boost/asio/post.hpp>

#include "persistence/replication_node.h"
#include "server/rfc3339.h"
#include "server/ws_session.h"

namespace stampede::http {

namespace {

constexpr std::string_view product_topic_prefix = "product:";

}  // namespace

std::optional<std::string> ws_hub::following() const {
  if (replication_ == nullptr || replication_->primary()) return std::nullopt;
  return replication_->status().primary_url_for_clients();
}

bool ws_hub::rebuilding() const {
  return replication_ != nullptr && replication_->role() == repl::node_role::starting;
}

void ws_hub::join(ws_session* s, const boost::asio::any_io_executor& ex) {
  sessions_.insert(s);
  if (!executor_) executor_ = ex;
  sweeper_.start(ex);
}

void ws_hub::schedule_flush(std::shared_ptr<ws_session> s) {
  dirty_.push_back(std::move(s));
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(*executor_, [this] { flush_slice(); });
}

// One slice of the flush pass; the rest is posted behind the handlers (socket events) that
// came meanwhile.
void ws_hub::flush_slice() {
  const size_t end = std::min(dirty_.size(), dirty_done_ + ws_flush_slice_sessions);
  for (; dirty_done_ < end; ++dirty_done_) dirty_[dirty_done_]->flush();
  if (dirty_done_ < dirty_.size()) {
    boost::asio::post(*executor_, [this] { flush_slice(); });
    return;
  }
  dirty_.clear();
  dirty_done_ = 0;
  flush_posted_ = false;
}

// Every session's timeouts, once a period. A session that ends here can only destroy
// itself, so the copy of the list stays valid for the others.
bool ws_hub::sweep() {
  std::vector<ws_session*> all(sessions_.begin(), sessions_.end());
  for (ws_session* s : all) s->sweep();
  return !sessions_.empty();  // else the next session to join starts it again
}

void ws_hub::subscribe(const std::shared_ptr<ws_session>& s, std::string topic,
                       std::string client_topic) {
  auto owners = eng_.topic_owners(topic);
  if (owners.empty()) {
    s->forget(topic);
    return s->deliver(ws_error("not_found", "no such " + client_topic.substr(0, client_topic.find(':'))));
  }
  uint64_t ticket = next_ticket_++;
  pending_.emplace(ticket, pending_watch{s, topic, std::move(client_topic),
                                         static_cast<uint32_t>(owners.size()), std::nullopt});
  const auto& who = s->who();
  eng_.watch(topic, who ? who->user_id : std::string(), who && who->admin, shard_, ticket);
}

void ws_hub::unsubscribe(ws_session& s, const std::string& topic) {
  bool answered = !s.awaiting(topic);
  s.forget(topic);
  if (!answered) return;  // watch_answered undoes it when the answer comes
  auto it = subscribers_.find(topic);
  if (it != subscribers_.end()) {
    auto& list = it->second;
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].get() == &s) {
        list[i] = std::move(list.back());
        list.pop_back();
        break;
      }
    }
    if (list.empty()) subscribers_.erase(it);
  }
  eng_.unwatch(topic, shard_);
}

void ws_hub::close_all() {
  std::vector<ws_session*> all(sessions_.begin(), sessions_.end());
  for (ws_session* s : all) s->going_away();
}

void ws_hub::end_all() {
  std::vector<ws_session*> all(sessions_.begin(), sessions_.end());
  for (ws_session* s : all) s->close_now();
}

void ws_hub::publish(const std::string& key, const std::shared_ptr<const ws::frame>& message) {
  auto it = subscribers_.find(key);
  if (it == subscribers_.end()) return;
  for (const auto& s : it->second) s->deliver(message);
}

void ws_hub::watch_answered(uint64_t ticket, result<watch_snapshot> answer) {
  auto it = pending_.find(ticket);
  if (it == pending_.end()) return;
  pending_watch& w = it->second;
  auto s = w.who.lock();
  if (!answer.ok()) {
    // A refusal comes from the only owner: nothing was counted.
    if (s) {
      s->forget(w.topic);
      s->deliver(ws_error(to_string(answer.code()), answer.err().message));
    }
    pending_.erase(it);
    return;
  }
  if (answer->order_now || answer->available || answer->watched_queue)
    w.snapshot = std::move(answer.value());
  if (--w.remaining > 0) return;
  pending_watch done = std::move(w);
  pending_.erase(it);
  answered(std::move(done), s);
}

// Every owner answered: the session is subscribed, and gets the snapshot first.
void ws_hub::answered(pending_watch done, const std::shared_ptr<ws_session>& s) {
  if (!s || s->is_closed() || !s->awaiting(done.topic)) {
    eng_.unwatch(done.topic, shard_);  // gone or unsubscribed meanwhile: the owners stop counting
    return;
  }
  s->subscribed(done.topic);
  subscribers_[done.topic].push_back(s);
  json::object msg{{"type", "subscribed"}, {"topic", done.client_topic}};
  if (done.snapshot && done.snapshot->order_now) {
    msg["snapshot"] = to_json(*done.snapshot->order_now, pres_);
  } else if (done.snapshot && done.snapshot->available) {
    msg["snapshot"] = json::object{{"product_id", done.topic.substr(product_topic_prefix.size())},
                                   {"available", *done.snapshot->available}};
  } else if (done.snapshot && done.snapshot->watched_queue) {
    // The caller's ticket, or null before they join.
    msg["snapshot"] = done.snapshot->ticket ? to_json(*done.snapshot->ticket) : json::value(nullptr);
  }
  s->deliver(ws_reply(msg));
}

namespace {

std::shared_ptr<const ws::frame> status_message(const order_event& e, std::string key) {
  const order& o = e.now;
  json::object m{{"type", "order.status"},
                 {"order_id", o.id},
                 {"status", to_string(o.status)},
                 {"previous", nullptr},
                 {"tracking_number", nullptr},
                 {"at", format_rfc3339_ms(o.history.empty() ? o.updated_at_ms : o.history.back().at_ms)}};
  if (e.previous) m["previous"] = to_string(*e.previous);
  if (o.tracking_number) m["tracking_number"] = *o.tracking_number;
  return ws_text(m, std::move(key));
}

}  // namespace

void ws_hub::order_changed(const std::shared_ptr<const order_event>& e) {
  const uint64_t seq = next_event_++;
  const order& o = e->now;
  // Each message is rendered once, and only if some session wants it.
  std::shared_ptr<const ws::frame> status_text, note_text;
  const std::string order_key = "o:" + o.id;
  // Notifications go to the owner's subscriptions only (API.md): an admin watching the
  // order sees its status, not the customer's inbox.
  auto send_to = [&](const std::string& topic, bool with_note) {
    auto it = subscribers_.find(topic);
    if (it == subscribers_.end()) return;
    for (const auto& s : it->second) {
      if (e->status_changed && s->last_status_event != seq) {
        s->last_status_event = seq;
        if (!status_text) status_text = status_message(*e, order_key);
        s->deliver(status_text);
      }
      bool owner = with_note && s->who() && s->who()->user_id == o.user_id;
      if (owner && s->last_note_event != seq) {
        s->last_note_event = seq;
        if (!note_text)
          note_text = ws_text(json::object{{"type", "notification"}, {"notification", to_json(e->note, pres_)}});
        s->deliver(note_text);
      }
    }
  };
  send_to("orders:" + o.user_id, true);
  send_to("order:" + o.id, true);
  send_to("admin:orders", false);
}

void ws_hub::availability(const std::string& product_id, int64_t available, int64_t at_ms) {
  auto it = subscribers_.find(std::string(product_topic_prefix) + product_id);
  if (it == subscribers_.end()) return;
  auto text = ws_text(json::object{{"type", "product.availability"},
                                   {"product_id", product_id},
                                   {"available", available},
                                   {"at", format_rfc3339_ms(at_ms)}},
                      "p:" + product_id);
  for (const auto& s : it->second) s->deliver(text);
}

// A queue ticket: the latest view replaces one not yet sent.
void ws_hub::ticket_changed(const std::string& key, const ticket_view& ticket) {
  auto it = subscribers_.find(key);
  if (it == subscribers_.end()) return;
  auto text = ws_text(json::object{{"type", "ticket"}, {"ticket", to_json(ticket)}}, "q:" + key);
  for (const auto& s : it->second) s->deliver(text);
}

}  // namespace stampede::http
