#include "core/shard.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "core/check.h"
#include "core/ids.h"
#include "core/limits.h"

namespace stampede {

namespace asio = boost::asio;

namespace {

// Idempotency scopes: a key is scoped to the user and the route.
constexpr std::string_view add_item_scope = "POST /v1/cart/items\n";
constexpr std::string_view place_order_scope = "POST /v1/orders\n";

error refusal(error_code code, const std::string& product_id, const stock_answer& a,
              int64_t already) {
  error_details d;
  d.product_id = product_id;
  switch (code) {
    case error_code::not_found:
      return make_error(code, "no such product", std::move(d));
    case error_code::sale_not_started:
      d.sale_starts_at_ms = a.sale_starts_at_ms;
      return make_error(code, "the sale has not started", std::move(d));
    case error_code::sale_ended:
      d.sale_ends_at_ms = a.sale_ends_at_ms;
      return make_error(code, "the sale has ended", std::move(d));
    case error_code::limit_exceeded:
      d.max_per_user = a.max_per_user;
      d.already = already;
      return make_error(code, "at most " + std::to_string(a.max_per_user) + " per customer",
                        std::move(d));
    default:
      d.available = a.available;
      return make_error(error_code::out_of_stock,
                        "only " + std::to_string(a.available) + " left", std::move(d));
  }
}

error rate_limited() {
  return make_error(error_code::rate_limited, "too many requests for this user in flight");
}

// Held units per product of a cart.
absl::flat_hash_map<std::string, int64_t> held_units(const cart& c) {
  absl::flat_hash_map<std::string, int64_t> out;
  for (const auto& l : c.lines)
    if (l.held) out[l.product_id] += l.quantity;
  return out;
}

}  // namespace

shard::shard(uint32_t index, const router& routes, const clock& time, shard_config config,
             std::unique_ptr<effect_log> log)
    : index_(index),
      routes_(routes),
      clock_(time),
      config_(config),
      mailbox_([this] {
        // The loop drains the mailbox itself; a post only wakes it if it is asleep.
        if (sleeping_.load(std::memory_order_seq_cst)) asio::post(io_, [] {});
      }),
      timer_(io_),
      batch_(limits::shard_drain_batch_max),
      log_(std::move(log)),
      shipping_(default_shipping_methods()),
      snapshot_timer_(io_) {
  // Sequences start past the shard number so ids of different shards never collide.
  next_sequence_ = (static_cast<uint64_t>(index_) << 40) + 1;
}

// ---------------------------------------------------------------------------------------
// The loop

namespace {
thread_local shard* this_thread_shard = nullptr;
}  // namespace

shard* shard::current() { return this_thread_shard; }

void shard::run() {
  this_thread_shard = this;
  auto guard = asio::make_work_guard(io_);
  if (config_.run_timer) arm_timer();
  // Poll (sockets, timers, the mailbox) while work keeps coming; after idle_spin_us with
  // nothing to do, sleep in the reactor. Only then do producers pay for a wake-up
  // (asio::post, ~15 us to a sleeping thread); a busy shard is never woken.
  const auto spin = std::chrono::microseconds(config_.idle_spin_us);
  const auto reactor_period = std::chrono::microseconds(limits::shard_reactor_poll_period_us);
  auto idle_since = std::chrono::steady_clock::now();
  auto last_poll = idle_since;
  while (!io_.stopped()) {
    auto now = std::chrono::steady_clock::now();
    bool worked = false;
    // While messages flow, the reactor (one epoll_wait each) is polled every
    // reactor_period rather than after every batch.
    if (mailbox_.depth() <= 0 || now - last_poll >= reactor_period) {
      worked = io_.poll() > 0;
      last_poll = now;
      // Handlers outside drain() (sockets, later) may have recorded or sent something.
      if (worked) end_of_pass();
    }
    if (mailbox_.depth() > 0) {
      drain();
      worked = true;
    }
    if (snapshot_turn_due_) {
      snapshot_turn_due_ = false;
      snapshot_step();
      end_of_pass();
      worked = true;
    }
    if (worked) {
      idle_since = now;
      continue;
    }
    if (std::chrono::steady_clock::now() - idle_since < spin) continue;
    // Dekker-style hand-off with mailbox::post: either we see its message here, or it
    // sees sleeping_ and posts the wake-up.
    sleeping_.store(true, std::memory_order_seq_cst);
    if (mailbox_.depth() > 0) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    io_.run_one();
    sleeping_.store(false, std::memory_order_relaxed);
    // What that handler recorded or sent goes now, not at the next event.
    end_of_pass();
    idle_since = std::chrono::steady_clock::now();
  }
}

void shard::stop() { io_.stop(); }

void shard::arm_timer() {
  timer_.expires_after(std::chrono::milliseconds(limits::shard_timer_period_ms));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    tick();
    end_of_pass();
    arm_timer();
  });
}

// Handles one batch from the mailbox; run() calls it again while messages remain, between
// the io_context's other handlers (sockets, timers).
void shard::drain() {
  auto [n, more] = mailbox_.take(batch_.data(), batch_.size());
  (void)more;
  for (size_t i = 0; i < n; ++i) {
    std::visit([this](auto& m) { handle(m); }, batch_[i]);
    batch_[i] = message{};
  }
  end_of_pass();
}

void shard::send(uint32_t to, message&& m) {
  auto& box = outbox_[to];
  box.push_back(std::move(m));
  if (box.size() >= limits::shard_drain_batch_max) flush_outbox(to);
}

void shard::flush_outbox(uint32_t to) {
  auto& box = outbox_[to];
  (*peers_)[to]->post_bulk(tokens_[to], box.data(), box.size());
  box.clear();
}

void shard::end_of_pass() {
  while (!after_pass_.empty()) {
    auto fns = std::move(after_pass_);
    after_pass_.clear();
    for (auto& fn : fns) fn();
  }
  commit_pass();
  // Everything this pass sends another shard goes in one bulk enqueue per destination.
  for (uint32_t to = 0; to < outbox_.size(); ++to)
    if (!outbox_[to].empty()) flush_outbox(to);
}

void shard::commit_pass() {
  // Group commit: everything recorded in this pass becomes durable together; then the
  // answers and releases waiting for it go out. Those may record more, hence the loop.
  for (;;) {
    log_->flush();
    uint64_t durable = log_->durable_lsn();
    if (after_durable_.empty() || after_durable_.front().first > durable) return;
    while (!after_durable_.empty() && after_durable_.front().first <= durable) {
      auto fn = std::move(after_durable_.front().second);
      after_durable_.pop_front();
      fn();
    }
  }
}

void shard::handle(stock_request& m) {
  stock_reply r;
  r.token = m.token;
  for (const auto& ask : m.asks) r.answers.push_back(catalog_.decide(ask, m.now_ms));
  send(m.reply_shard, std::move(r));
}

void shard::handle(stock_reply& m) {
  uint64_t gather_id = m.token >> 8;
  size_t part = m.token & 0xff;
  auto it = pending_stock_.find(gather_id);
  STAMPEDE_CHECK(it != pending_stock_.end());
  pending_stock& p = it->second;
  const auto& positions = p.positions[part];
  STAMPEDE_CHECK(positions.size() == m.answers.size());
  for (size_t j = 0; j < positions.size(); ++j) p.answers[positions[j]] = std::move(m.answers[j]);
  if (--p.remaining == 0) {
    auto then = std::move(p.then);
    auto answers = std::move(p.answers);
    pending_stock_.erase(it);
    then(std::move(answers));
  }
}

void shard::handle(stock_move& m) {
  ++moves_received_;
  apply_move(m);
}

void shard::apply_move(const stock_move& m) {
  switch (m.what) {
    case stock_move::kind::release:
      catalog_.release(m.product_id, m.units);
      break;
    case stock_move::kind::commit:
      catalog_.commit(m.product_id, m.units);
      break;
    case stock_move::kind::uncommit:
      catalog_.uncommit(m.product_id, m.units);
      break;
  }
}

void shard::handle(shard_task& m) { m.run(*this); }

// ---------------------------------------------------------------------------------------
// Effects

uint64_t shard::record(effect e) {
  last_lsn_ = log_->append(e);
  apply(std::move(e));
  return last_lsn_;
}

void shard::when_durable(absl::AnyInvocable<void()> fn) {
  after_durable_.emplace_back(last_lsn_, std::move(fn));
}

void shard::when_answerable(absl::AnyInvocable<void()> fn) {
  if (config_.answer_before_durable) {
    // --durability async: the answer goes at the end of this pass, with the records still
    // on their way to disk. Releases never take this path.
    after_pass_.push_back(std::move(fn));
  } else {
    when_durable(std::move(fn));
  }
}

void shard::note_id(std::string_view id, std::string_view prefix) {
  // Ids made by this shard carry its number in the sequence's top bits (see the
  // constructor); after a replay the counter continues past the highest one seen.
  auto seq = sequence_of(id, prefix);
  if (seq && (*seq >> 40) == index_ && *seq >= next_sequence_) next_sequence_ = *seq + 1;
}

void shard::on_log_synced(uint64_t lsn) { log_->mark_durable(lsn); }

void shard::replay(effect&& e) { apply(std::move(e)); }

void shard::reserve_for_replay(size_t entries) {
  users_.reserve(entries);
  changed_users_.reserve(entries);
  orders_.reserve(entries);
  catalog_.reserve(entries);
}

void shard::set_log(std::unique_ptr<effect_log> log) {
  log_ = std::move(log);
  last_lsn_ = log_->durable_lsn();  // the log continues from what recovery found
}

std::string shard::rebuild_stock(const std::vector<const shard*>& all) {
  catalog_.clear_counts();
  for (const shard* s : all) {
    for (const auto& [id, u] : s->users_) {
      for (const auto& l : u.basket.lines) {
        if (!l.held || routes_.product_shard(l.product_id) != index_) continue;
        if (!catalog_.add_counts(l.product_id, l.quantity, 0))
          return "user " + id + " holds product " + l.product_id + ", which is not in the catalog";
      }
    }
    for (const auto& [id, o] : s->orders_) {
      if (!holds_stock(o.status)) continue;
      for (const auto& item : o.items) {
        if (routes_.product_shard(item.product_id) != index_) continue;
        if (!catalog_.add_counts(item.product_id, 0, item.quantity))
          return "order " + id + " holds product " + item.product_id + ", which is not in the catalog";
      }
    }
  }
  return catalog_.check_counts();
}

// ---------------------------------------------------------------------------------------
// Snapshots

void shard::forget_changes() {
  changed_users_.clear();
  changed_products_.clear();
  changed_shipping_ = false;
  changed_webhooks_ = false;
  changed_outbox_ = false;
}

void shard::note_change(const effect& e) {
  char kind = 'u';
  const std::string* id = nullptr;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, product_created> || std::is_same_v<T, product_restored>) {
          kind = 'p', id = &x.fields.id;
        } else if constexpr (std::is_same_v<T, product_patched> || std::is_same_v<T, on_hand_set> ||
                             std::is_same_v<T, product_deactivated>) {
          kind = 'p', id = &x.product_id;
        } else if constexpr (std::is_same_v<T, shipping_methods_replaced>) {
          kind = 's';
        } else if constexpr (std::is_same_v<T, webhooks_replaced>) {
          kind = 'w';
        } else if constexpr (std::is_same_v<T, webhook_event_queued> ||
                             std::is_same_v<T, webhook_event_done>) {
          kind = 'x';
        } else if constexpr (std::is_same_v<T, order_placed> || std::is_same_v<T, order_updated>) {
          id = &x.value.user_id;
        } else {
          id = &x.user_id;
        }
      },
      e);
  if (snapshot_ && snapshot_->started) {
    // Copy-on-write: the snapshot is the state at its log position, so a unit it has not
    // taken yet is taken now, before this effect changes it.
    snapshot_run& run = *snapshot_;
    bool* whole = kind == 's' ? &run.shipping : kind == 'w' ? &run.webhooks : kind == 'x' ? &run.outbox : nullptr;
    if (whole) {
      if (std::exchange(*whole, false)) run.chunk.push_back(capture(kind, ""));
    } else if ((kind == 'p' ? run.products : run.users).contains(*id)) {
      std::string key = kind + *id;
      if (run.taken_early.insert(key).second) run.chunk.push_back(capture(kind, *id));
    }
  }
  if (kind == 's') {
    changed_shipping_ = true;
  } else if (kind == 'w') {
    changed_webhooks_ = true;
  } else if (kind == 'x') {
    changed_outbox_ = true;
  } else {
    (kind == 'p' ? changed_products_ : changed_users_).insert(*id);
  }
}

snapshot_unit shard::capture(char kind, const std::string& id) const {
  snapshot_unit unit;
  unit.key.reserve(1 + id.size());
  unit.key.push_back(kind);
  unit.key += id;
  if (kind == 's') {
    unit.effects.emplace_back(shipping_methods_replaced{shipping_});
  } else if (kind == 'w') {
    unit.effects.emplace_back(webhooks_replaced{webhooks_});
  } else if (kind == 'x') {
    for (const auto& [key, entry] : webhook_outbox_) unit.effects.emplace_back(webhook_event_queued{entry});
  } else if (kind == 'p') {
    if (const product* p = catalog_.find(id)) {
      unit.effects.emplace_back(product_restored{
          product_create{p->id, p->name, p->description, p->price, p->images, p->units.on_hand(),
                         p->max_per_user, p->sale_starts_at_ms, p->sale_ends_at_ms},
          p->active, p->version});
    }
  } else if (auto it = users_.find(id); it != users_.end()) {
    const user_record& u = it->second;
    // Orders first: placing one empties the cart, which comes next.
    for (const auto& order_id : u.order_ids) {
      auto o = orders_.find(order_id);
      if (o != orders_.end()) unit.effects.emplace_back(order_placed{o->second});
    }
    unit.effects.emplace_back(cart_replaced{id, u.basket});
    for (const auto& a : u.addresses) unit.effects.emplace_back(address_added{id, a});
    for (const auto& n : u.notifications) unit.effects.emplace_back(notification_added{id, n});
    for (const auto& [key, entry] : u.idempotency)
      unit.effects.emplace_back(
          idempotency_stored{id, key, entry.fingerprint, entry.stored_at_ms, entry.answer});
  }
  return unit;
}

void shard::begin_snapshot(snapshot_sink* sink) {
  if (snapshot_) return;
  snapshot_ = std::make_unique<snapshot_run>();
  snapshot_->sink = sink;
  snapshot_step();
}

void shard::snapshot_step() {
  if (!snapshot_) return;
  snapshot_run& run = *snapshot_;
  if (!run.started) {
    if (!product_admin_queue_.empty()) {
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
    run.started = true;
    run.lsn = last_lsn_;
    run.users.swap(changed_users_);
    run.products.swap(changed_products_);
    run.next_user = run.users.begin();
    run.next_product = run.products.begin();
    run.shipping = std::exchange(changed_shipping_, false);
    run.webhooks = std::exchange(changed_webhooks_, false);
    run.outbox = std::exchange(changed_outbox_, false);
  }
  size_t budget = config_.snapshot_units_per_turn;
  for (auto [kind, flag] : {std::pair{'s', &run.shipping}, std::pair{'w', &run.webhooks},
                            std::pair{'x', &run.outbox}}) {
    if (std::exchange(*flag, false)) run.chunk.push_back(capture(kind, ""));
  }
  std::string key;
  for (char kind : {'p', 'u'}) {
    auto& next = kind == 'p' ? run.next_product : run.next_user;
    const auto end = (kind == 'p' ? run.products : run.users).end();
    for (; budget > 0 && next != end; ++next) {
      if (!run.taken_early.empty()) {  // most rounds take nothing early
        key.assign(1, kind);
        key += *next;
        if (run.taken_early.contains(key)) continue;
      }
      run.chunk.push_back(capture(kind, *next));
      --budget;
    }
  }
  if (!run.chunk.empty()) run.sink->units(index_, std::exchange(run.chunk, {}));
  if (run.next_user != run.users.end() || run.next_product != run.products.end()) {
    // The next turn comes from the loop, after its next batch of messages. (Posted to the
    // io_context, it would run at once: poll() runs what its handlers post, and the round
    // would hold the mailbox until it was done: 2.4 s at a million units.)
    snapshot_turn_due_ = true;
    return;
  }
  // The state through run.lsn is taken; it counts once the log is durable that far.
  when_durable([sink = run.sink, index = index_, lsn = run.lsn] { sink->covered(index, lsn); });
  snapshot_.reset();
}

void shard::apply(effect&& e) {
  note_change(e);
  struct visitor {
    shard& s;
    void operator()(product_created& x) {
      auto r = s.catalog_.insert(std::move(x.fields));
      STAMPEDE_CHECK(r.ok());
    }
    void operator()(const product_patched& x) {
      auto r = s.catalog_.patch(x.product_id, x.patch);
      STAMPEDE_CHECK(r.ok());
    }
    void operator()(const on_hand_set& x) {
      product_patch p;
      p.on_hand = x.on_hand;
      auto r = s.catalog_.patch(x.product_id, p);
      STAMPEDE_CHECK(r.ok());
    }
    void operator()(const product_deactivated& x) {
      auto r = s.catalog_.deactivate(x.product_id);
      STAMPEDE_CHECK(r.ok());
    }
    void operator()(const shipping_methods_replaced& x) { s.shipping_ = x.methods; }
    void operator()(cart_replaced& x) {
      user_record& u = s.user(x.user_id);
      s.set_hold_deadline(u.id, u.basket.held_until_ms, x.contents.held_until_ms);
      s.carts_holding_ += (x.contents.held_until_ms != 0) - (u.basket.held_until_ms != 0);
      u.basket = std::move(x.contents);
    }
    void operator()(const address_added& x) { s.user(x.user_id).addresses.push_back(x.value); }
    void operator()(const address_deleted& x) {
      auto& list = s.user(x.user_id).addresses;
      std::erase_if(list, [&](const address& a) { return a.id == x.address_id; });
    }
    void operator()(order_placed& x) {
      order& o = x.value;
      s.note_id(o.id, "ord_");
      user_record& u = s.user(o.user_id);
      s.set_hold_deadline(u.id, u.basket.held_until_ms, 0);
      s.carts_holding_ -= u.basket.held_until_ms != 0;
      u.basket = cart{};
      ++s.orders_by_status_[static_cast<size_t>(o.status)];
      u.order_ids.push_back(o.id);
      // A placed order is pending; one loaded from a snapshot may be in any status.
      if (holds_stock(o.status))
        for (const auto& item : o.items) u.ordered_units[item.product_id] += item.quantity;
      for (const auto& p : o.payments) {
        s.note_id(p.id, "pay_");
        s.payment_orders_.try_emplace(p.id, o.id);
      }
      if (o.expires_at_ms) s.payment_deadlines_.emplace(*o.expires_at_ms, o.id);
      s.orders_by_time_.emplace(o.created_at_ms, o.id);
      std::string id = o.id;
      s.orders_.insert_or_assign(std::move(id), std::move(o));
    }
    void operator()(order_updated& x) {
      order& now = x.value;
      auto it = s.orders_.find(now.id);
      STAMPEDE_CHECK(it != s.orders_.end());
      order& was = it->second;
      user_record& u = s.user(now.user_id);
      if (holds_stock(was.status) && !holds_stock(now.status)) {
        for (const auto& item : was.items) u.ordered_units[item.product_id] -= item.quantity;
      }
      --s.orders_by_status_[static_cast<size_t>(was.status)];
      ++s.orders_by_status_[static_cast<size_t>(now.status)];
      if (was.expires_at_ms) s.payment_deadlines_.erase({*was.expires_at_ms, was.id});
      if (now.expires_at_ms) s.payment_deadlines_.emplace(*now.expires_at_ms, now.id);
      for (const auto& p : now.payments) {
        s.note_id(p.id, "pay_");
        s.payment_orders_.try_emplace(p.id, now.id);
      }
      was = std::move(now);
    }
    void operator()(notification_added& x) {
      s.note_id(x.value.id, "ntf_");
      auto& inbox = s.user(x.user_id).notifications;
      inbox.push_back(std::move(x.value));
      while (inbox.size() > limits::notifications_per_user_max) inbox.pop_front();
    }
    void operator()(const idempotency_stored& x) {
      user_record& u = s.user(x.user_id);
      u.idempotency.insert_or_assign(x.scope_key,
                                     idempotency_entry{x.fingerprint, x.stored_at_ms, x.answer});
      s.idempotency_by_time_.emplace(x.stored_at_ms, x.user_id, x.scope_key);
    }
    void operator()(webhooks_replaced& x) {
      s.webhooks_ = std::move(x.list);
      // Events for a webhook that is gone go with it.
      absl::erase_if(s.webhook_outbox_, [&](const auto& kv) {
        for (const auto& w : s.webhooks_)
          if (w.id == kv.second.webhook_id) return false;
        return true;
      });
    }
    void operator()(webhook_event_queued& x) {
      s.note_id(x.entry.event_id, "evt_");
      outbox_key key{x.entry.created_at_ms, x.entry.event_id, x.entry.webhook_id};
      s.webhook_outbox_.insert_or_assign(std::move(key), std::move(x.entry));
      ++s.outbox_arrivals_;
      if (s.webhook_outbox_.size() > limits::webhook_outbox_max) {
        s.webhook_outbox_.erase(s.webhook_outbox_.begin());
        ++s.outbox_dropped_;
      }
    }
    void operator()(const webhook_event_done& x) {
      s.webhook_outbox_.erase(outbox_key{x.created_at_ms, x.event_id, x.webhook_id});
    }
    void operator()(product_restored& x) {
      auto r = s.catalog_.restore(std::move(x.fields), x.active, x.version);
      STAMPEDE_CHECK(r.ok());
    }
  };
  std::visit(visitor{*this}, e);
}

// ---------------------------------------------------------------------------------------
// Users

shard::user_record& shard::user(const std::string& user_id) {
  auto [it, inserted] = users_.try_emplace(user_id);
  if (inserted) it->second.id = user_id;
  return it->second;
}

bool shard::take_request_token(user_record& u) {
  if (config_.user_requests_per_s <= 0) return true;
  int64_t now = clock_.now_ms();
  if (now > u.tokens_at_ms) {
    double refill = static_cast<double>(now - u.tokens_at_ms) *
                    static_cast<double>(config_.user_requests_per_s) / 1000.0;
    u.request_tokens = std::min<double>(limits::user_request_burst, u.request_tokens + refill);
    u.tokens_at_ms = now;
  }
  if (u.request_tokens < 1.0) return false;
  u.request_tokens -= 1.0;
  return true;
}

void shard::with_user(const std::string& user_id, user_op op, caller who) {
  user_record& u = user(user_id);
  if (who == caller::customer && !take_request_token(u)) {
    op(u, false);
    return;
  }
  if (u.busy) {
    if (who != caller::internal && u.waiting.size() >= limits::user_requests_queued_max) {
      op(u, false);
      return;
    }
    u.waiting.push_back(std::move(op));
    return;
  }
  u.busy = true;
  op(u, true);
}

// REQUIRES: the op that made `u` busy is done and calls this as its last step.
void shard::finish(user_record& u) {
  STAMPEDE_CHECK(u.busy);
  u.busy = false;
  if (u.waiting.empty()) return;
  auto next = std::move(u.waiting.front());
  u.waiting.pop_front();
  u.busy = true;
  next(u, true);
}

int64_t shard::units_already(const user_record& u, std::string_view product_id) const {
  auto it = u.ordered_units.find(as_key(product_id));
  int64_t in_orders = it == u.ordered_units.end() ? 0 : it->second;
  return in_orders + u.basket.units_of(product_id);
}

void shard::renew_holds(cart& c) const {
  c.held_until_ms = c.any_held() ? clock_.now_ms() + config_.hold_ttl_ms : 0;
}

void shard::set_hold_deadline(const std::string& user_id, int64_t old_ms, int64_t new_ms) {
  if (old_ms == new_ms) return;
  if (old_ms) hold_deadlines_.erase({old_ms, user_id});
  if (new_ms) hold_deadlines_.emplace(new_ms, user_id);
}

// Releases the units `before` held and `after` does not, once the record of `after` is
// durable: a release must never outlive a crash that loses the change that caused it.
void shard::send_releases(const cart& before, const cart& after) {
  auto was = held_units(before);
  auto now = held_units(after);
  std::vector<std::pair<std::string, int64_t>> freed;
  for (auto& [product_id, units] : was) {
    auto it = now.find(product_id);
    int64_t still = it == now.end() ? 0 : it->second;
    if (units > still) freed.emplace_back(product_id, units - still);
  }
  if (freed.empty()) return;
  when_durable([this, freed = std::move(freed)] {
    for (const auto& [product_id, units] : freed)
      move_stock(stock_move::kind::release, product_id, units);
  });
}

void shard::move_stock(stock_move::kind what, const std::string& product_id, int64_t units) {
  stock_move m{what, product_id, units};
  uint32_t owner = routes_.product_shard(product_id);
  if (owner == index_) {
    apply_move(m);
  } else {
    ++moves_sent_;
    send(owner, std::move(m));
  }
}

void shard::ask_stock(std::vector<stock_ask> asks, stock_continuation then) {
  pending_stock p;
  p.answers.resize(asks.size());
  // Group the asks by the shard that owns each product: one message per shard.
  absl::InlinedVector<std::pair<uint32_t, std::vector<size_t>>, 4> by_shard;
  for (size_t i = 0; i < asks.size(); ++i) {
    uint32_t owner = routes_.product_shard(asks[i].product_id);
    auto it = std::find_if(by_shard.begin(), by_shard.end(),
                           [&](const auto& g) { return g.first == owner; });
    if (it == by_shard.end()) it = by_shard.insert(it, {owner, {}});
    it->second.push_back(i);
  }
  int64_t now = clock_.now_ms();
  uint64_t gather_id = next_token_++;
  std::vector<std::pair<uint32_t, stock_request>> outgoing;
  for (auto& [owner, positions] : by_shard) {
    if (owner == index_) {
      for (size_t i : positions) p.answers[i] = catalog_.decide(asks[i], now);
      continue;
    }
    stock_request r;
    r.token = (gather_id << 8) | p.positions.size();
    r.reply_shard = index_;
    r.now_ms = now;
    for (size_t i : positions) r.asks.push_back(std::move(asks[i]));
    p.positions.push_back(positions);
    outgoing.emplace_back(owner, std::move(r));
  }
  p.remaining = outgoing.size();
  if (p.remaining == 0) {
    then(std::move(p.answers));
    return;
  }
  p.then = std::move(then);
  pending_stock_.emplace(gather_id, std::move(p));
  for (auto& [owner, r] : outgoing) send(owner, std::move(r));
}

// ---------------------------------------------------------------------------------------
// Catalog

void shard::with_product_admin(const std::string& product_id,
                               absl::AnyInvocable<void(absl::AnyInvocable<void()>)> op) {
  auto start = [this, product_id](auto op) mutable {
    op([this, product_id] {
      auto it = product_admin_queue_.find(product_id);
      STAMPEDE_CHECK(it != product_admin_queue_.end());
      if (it->second.empty()) {
        product_admin_queue_.erase(it);
        return;
      }
      auto next = std::move(it->second.front());
      it->second.pop_front();
      next();
    });
  };
  auto it = product_admin_queue_.find(product_id);
  if (it != product_admin_queue_.end()) {
    it->second.push_back(
        [start, op = std::move(op)]() mutable { start(std::move(op)); });
    return;
  }
  product_admin_queue_[product_id];
  start(std::move(op));
}

void shard::create_product(product_create c, reply<product_view> done) {
  if (auto e = validate(c)) return done(std::move(*e));
  std::string id = c.id;
  with_product_admin(id, [this, c = std::move(c), done = std::move(done)](auto finish) mutable {
    if (catalog_.find(c.id)) {
      done(make_error(error_code::conflict, "a product with this id exists",
                      error_details{.product_id = c.id}));
      return finish();
    }
    // New stock is grantable only once its record is durable: log now, apply then.
    effect e = product_created{c};
    last_lsn_ = log_->append(e);
    when_durable([this, e = std::move(e), id = c.id, done = std::move(done),
                  finish = std::move(finish)]() mutable {
      apply(std::move(e));
      done(view_of(*catalog_.find(id)));
      finish();
    });
  });
}

void shard::patch_product(std::string id, product_patch p, reply<product_view> done) {
  if (auto e = validate(p)) return done(std::move(*e));
  std::string key = id;
  with_product_admin(key, [this, id = std::move(id), p = std::move(p),
                           done = std::move(done)](auto finish) mutable {
    const product* now = catalog_.find(id);
    if (!now) {
      done(make_error(error_code::not_found, "no such product"));
      return finish();
    }
    if (auto e = catalog_.check_patch(id, p)) {
      done(std::move(*e));
      return finish();
    }
    bool increase = p.on_hand && *p.on_hand > now->units.on_hand();
    effect e = product_patched{id, std::move(p)};
    if (increase) {
      last_lsn_ = log_->append(e);
    } else {
      record(e);
    }
    when_durable([this, increase, e = std::move(e), id, done = std::move(done),
                  finish = std::move(finish)]() mutable {
      if (increase) apply(std::move(e));
      done(view_of(*catalog_.find(id)));
      finish();
    });
  });
}

void shard::adjust_stock(std::string id, int64_t delta, reply<product_view> done) {
  std::string key = id;
  with_product_admin(key, [this, id = std::move(id), delta,
                           done = std::move(done)](auto finish) mutable {
    const product* now = catalog_.find(id);
    if (!now) {
      done(make_error(error_code::not_found, "no such product"));
      return finish();
    }
    int64_t target = now->units.on_hand() + delta;
    if (delta < -limits::on_hand_max || delta > limits::on_hand_max || target < 0 ||
        target > limits::on_hand_max) {
      error_details d;
      d.field = "delta";
      done(make_error(error_code::invalid_request, "on_hand would leave 0..1000000000", d));
      return finish();
    }
    if (target < now->units.reserved() + now->units.committed()) {
      done(make_error(error_code::conflict, "on_hand cannot fall below reserved + committed",
                      error_details{.product_id = id, .available = now->units.available()}));
      return finish();
    }
    bool increase = delta > 0;
    effect e = on_hand_set{id, target};
    if (increase) {
      last_lsn_ = log_->append(e);
    } else {
      record(e);
    }
    when_durable([this, increase, e = std::move(e), id, done = std::move(done),
                  finish = std::move(finish)]() mutable {
      if (increase) apply(std::move(e));
      done(view_of(*catalog_.find(id)));
      finish();
    });
  });
}

void shard::deactivate_product(std::string id, reply<product_view> done) {
  std::string key = id;
  with_product_admin(key, [this, id = std::move(id), done = std::move(done)](auto finish) mutable {
    if (!catalog_.find(id)) {
      done(make_error(error_code::not_found, "no such product"));
      return finish();
    }
    record(product_deactivated{id});
    when_durable([this, id, done = std::move(done), finish = std::move(finish)]() mutable {
      done(view_of(*catalog_.find(id)));
      finish();
    });
  });
}

result<product_view> shard::get_product(std::string_view id, bool include_inactive) const {
  return catalog_.get(id, include_inactive);
}

std::vector<product_view> shard::list_products(std::string_view after, size_t limit,
                                               std::string_view query,
                                               bool include_inactive) const {
  return catalog_.list(after, limit, query, include_inactive);
}

void shard::replace_shipping_methods(std::vector<shipping_method> methods) {
  record(shipping_methods_replaced{std::move(methods)});
}

void shard::set_webhooks(std::vector<webhook> list) { record(webhooks_replaced{std::move(list)}); }

void shard::webhook_done(const outbox_key& key) {
  if (!webhook_outbox_.contains(key)) return;
  record(webhook_event_done{std::get<0>(key), std::get<1>(key), std::get<2>(key)});
}

// ---------------------------------------------------------------------------------------
// Cart

void shard::get_cart(const std::string& user_id, reply<cart_view> done) {
  with_user(user_id, [this, done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    done(view_of(u.basket));
    finish(u);
  });
}

void shard::change_cart_line(user_record& u, std::string product_id, int64_t quantity,
                             bool adding, absl::AnyInvocable<void(result<cart_view>)> done) {
  cart_line* line = u.basket.find(product_id);
  if (!adding && !line) return done(make_error(error_code::not_found, "no such cart line"));
  if (!line && u.basket.lines.size() >= limits::cart_lines_max) {
    return done(make_error(error_code::invalid_request, "a cart holds at most 100 lines"));
  }
  int64_t current = line ? line->quantity : 0;
  bool held = line && line->held;
  int64_t target = adding ? current + quantity : quantity;
  if (target > limits::quantity_max) {
    error_details d;
    d.field = "quantity";
    return done(make_error(error_code::invalid_request, "a cart line holds at most 10000 units",
                           std::move(d)));
  }
  if (target <= current) {
    // A decrease (or no change): nothing to ask of the product shard.
    cart next = u.basket;
    if (target == 0) {
      std::erase_if(next.lines, [&](const cart_line& l) { return l.product_id == product_id; });
    } else {
      next.find(product_id)->quantity = target;
    }
    renew_holds(next);
    cart before = u.basket;
    record(cart_replaced{u.id, next});
    send_releases(before, u.basket);
    when_answerable([view = view_of(u.basket), done = std::move(done)]() mutable {
      done(std::move(view));
    });
    return;
  }
  int64_t increase = target - current;
  stock_ask ask{product_id, held ? increase : target, true, increase, units_already(u, product_id)};
  int64_t already = ask.already;
  ask_stock({std::move(ask)},
            [this, &u, product_id = std::move(product_id), target, already,
             done = std::move(done)](std::vector<stock_answer> answers) mutable {
              const stock_answer& a = answers[0];
              if (a.refused) return done(refusal(*a.refused, product_id, a, already));
              cart next = u.basket;
              cart_line* l = next.find(product_id);
              if (!l) {
                next.lines.push_back(cart_line{product_id, {}, 0, 0, false});
                l = &next.lines.back();
              }
              l->name = a.name;
              l->unit_price = a.unit_price;
              l->quantity = target;
              l->held = true;
              renew_holds(next);
              record(cart_replaced{u.id, std::move(next)});
              when_answerable([view = view_of(u.basket), done = std::move(done)]() mutable {
                done(std::move(view));
              });
            });
}

void shard::add_item(const std::string& user_id, std::string product_id, int64_t quantity,
                     std::optional<std::string> idempotency_key,
                     reply<idempotent<cart_view>> done) {
  if (quantity < limits::quantity_min || quantity > limits::quantity_max) {
    error_details d;
    d.field = "quantity";
    return done(make_error(error_code::invalid_request, "quantity must be an integer 1..10000",
                           std::move(d)));
  }
  if (!is_valid_product_id(product_id))
    return done(make_error(error_code::not_found, "no such product"));
  with_user(user_id, [this, product_id = std::move(product_id), quantity,
                      key = std::move(idempotency_key),
                      done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    std::string scope;
    uint64_t fingerprint = 0;
    if (key) {
      scope = std::string(add_item_scope) + *key;
      fingerprint = stable_hash(product_id + "\n" + std::to_string(quantity));
      if (answered_from_key(u, scope, fingerprint, done)) return finish(u);
    }
    change_cart_line(u, product_id, quantity, true,
                     [this, &u, scope = std::move(scope), fingerprint, keyed = key.has_value(),
                      done = std::move(done)](result<cart_view> r) mutable {
                       if (r.ok() && keyed) store_idempotent(u, scope, fingerprint, r.value());
                       if (r.ok()) {
                         done(idempotent<cart_view>{std::move(r).value(), false});
                       } else {
                         done(std::move(r).err());
                       }
                       finish(u);
                     });
  });
}

void shard::set_item(const std::string& user_id, std::string product_id, int64_t quantity,
                     reply<cart_view> done) {
  if (quantity < 0 || quantity > limits::quantity_max) {
    error_details d;
    d.field = "quantity";
    return done(make_error(error_code::invalid_request, "quantity must be an integer 0..10000",
                           std::move(d)));
  }
  with_user(user_id, [this, product_id = std::move(product_id), quantity,
                      done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    change_cart_line(u, product_id, quantity, false,
                     [this, &u, done = std::move(done)](result<cart_view> r) mutable {
                       done(std::move(r));
                       finish(u);
                     });
  });
}

void shard::remove_item(const std::string& user_id, std::string product_id,
                        reply<cart_view> done) {
  set_item(user_id, std::move(product_id), 0, std::move(done));
}

void shard::clear_cart(const std::string& user_id, reply<cart_view> done) {
  with_user(user_id, [this, done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    cart before = u.basket;
    if (!before.lines.empty()) {
      record(cart_replaced{u.id, cart{}});
      send_releases(before, u.basket);
    }
    when_answerable([view = view_of(u.basket), done = std::move(done)]() mutable {
      done(std::move(view));
    });
    finish(u);
  });
}

void shard::lapse_holds(user_record& u) {
  if (u.basket.held_until_ms == 0 || u.basket.held_until_ms > clock_.now_ms()) return;
  cart before = u.basket;
  cart next = u.basket;
  for (auto& l : next.lines) l.held = false;
  next.held_until_ms = 0;
  record(cart_replaced{u.id, std::move(next)});
  send_releases(before, u.basket);
}

template <class T>
bool shard::answered_from_key(const user_record& u, const std::string& scope_key,
                              uint64_t fingerprint, reply<idempotent<T>>& done) {
  auto it = u.idempotency.find(scope_key);
  if (it != u.idempotency.end() &&
      clock_.now_ms() - it->second.stored_at_ms <= limits::idempotency_retention_ms) {
    if (it->second.fingerprint != fingerprint) {
      done(make_error(error_code::idempotency_mismatch,
                      "this Idempotency-Key was used with another request"));
    } else {
      done(idempotent<T>{std::get<T>(it->second.answer), true});
    }
    return true;
  }
  if (u.idempotency.size() >= limits::idempotency_keys_per_user_max) {
    done(rate_limited());
    return true;
  }
  return false;
}

void shard::store_idempotent(user_record& u, std::string scope_key, uint64_t fingerprint,
                             std::variant<cart_view, order, payment_result> answer) {
  record(idempotency_stored{u.id, std::move(scope_key), fingerprint, clock_.now_ms(),
                            std::move(answer)});
}

// ---------------------------------------------------------------------------------------
// Addresses

void shard::list_addresses(const std::string& user_id, reply<std::vector<address>> done) {
  with_user(user_id, [this, done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    done(u.addresses);
    finish(u);
  });
}

void shard::add_address(const std::string& user_id, address a, reply<address> done) {
  if (auto e = validate(a)) return done(std::move(*e));
  with_user(user_id, [this, a = std::move(a), done = std::move(done)](user_record& u,
                                                                       bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    if (u.addresses.size() >= limits::addresses_per_user_max) {
      done(make_error(error_code::invalid_request, "at most 50 addresses per customer"));
      return finish(u);
    }
    a.id = next_id("adr_", u.id);
    record(address_added{u.id, a});
    when_answerable([a = std::move(a), done = std::move(done)]() mutable { done(std::move(a)); });
    finish(u);
  });
}

void shard::delete_address(const std::string& user_id, std::string address_id,
                           reply<ok_t> done) {
  with_user(user_id, [this, address_id = std::move(address_id),
                      done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    bool exists = std::any_of(u.addresses.begin(), u.addresses.end(),
                              [&](const address& a) { return a.id == address_id; });
    if (!exists) {
      done(make_error(error_code::not_found, "no such address"));
      return finish(u);
    }
    record(address_deleted{u.id, address_id});
    when_answerable([done = std::move(done)]() mutable { done(ok_t{}); });
    finish(u);
  });
}

// ---------------------------------------------------------------------------------------
// Checkout

std::optional<error> shard::check_checkout_inputs(const user_record& u,
                                                  const checkout_request& req,
                                                  const address** ship, const address** bill,
                                                  const shipping_method** method) const {
  auto find_address = [&](const std::string& id) -> const address* {
    for (const auto& a : u.addresses)
      if (a.id == id) return &a;
    return nullptr;
  };
  auto bad = [](const char* field, const char* message) {
    error_details d;
    d.field = field;
    return make_error(error_code::invalid_request, message, std::move(d));
  };
  *ship = req.shipping_address_id.empty() ? nullptr : find_address(req.shipping_address_id);
  if (!req.shipping_address_id.empty() && !*ship)
    return bad("shipping_address_id", "no such address for this customer");
  const std::string& bill_id =
      req.billing_address_id.empty() ? req.shipping_address_id : req.billing_address_id;
  *bill = bill_id.empty() ? nullptr : find_address(bill_id);
  if (!bill_id.empty() && !*bill)
    return bad("billing_address_id", "no such address for this customer");
  *method = nullptr;
  for (const auto& m : shipping_)
    if (m.id == req.shipping_method) *method = &m;
  if (!req.shipping_method.empty() && !*method)
    return bad("shipping_method", "no such shipping method");
  return std::nullopt;
}

void shard::preview(const std::string& user_id, checkout_request req,
                    reply<checkout_summary> done) {
  with_user(user_id, [this, req = std::move(req), done = std::move(done)](
                         user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    const address* ship;
    const address* bill;
    const shipping_method* method;
    if (auto e = check_checkout_inputs(u, req, &ship, &bill, &method)) {
      done(std::move(*e));
      return finish(u);
    }
    // The user is busy until this finishes, so the resolved addresses stay put.
    ask_stock(checkout_asks(u, /*take=*/false), [this, &u, ship, bill, method,
                                                 done = std::move(done)](
                                                    std::vector<stock_answer> answers) mutable {
      checkout_summary s = summarize(u, ship, bill, method);
      for (size_t i = 0; i < answers.size(); ++i) {
        if (!answers[i].refused) continue;
        error_code c = *answers[i].refused;
        if (c == error_code::not_found) c = error_code::out_of_stock;
        s.problems.push_back({u.basket.lines[i].product_id, c,
                              c == error_code::out_of_stock ? answers[i].available : 0});
      }
      s.ready = !s.cart.items.empty() && s.problems.empty() && s.shipping_address && s.method;
      done(std::move(s));
      finish(u);
    });
  });
}

checkout_summary shard::summarize(const user_record& u, const address* ship,
                                  const address* bill, const shipping_method* method) const {
  checkout_summary s;
  s.cart = view_of(u.basket);
  if (ship) s.shipping_address = *ship;
  if (bill) s.billing_address = *bill;
  if (method) s.method = *method;
  s.shipping = method && !u.basket.lines.empty() ? method->price : 0;
  s.total = s.cart.subtotal + s.shipping;
  s.methods = shipping_;
  return s;
}

// One ask per cart line: lapsed lines need their units again (taken at checkout, only
// looked at for a preview); held lines only the sale window and the limit, which counts
// the units in the user's live orders.
std::vector<stock_ask> shard::checkout_asks(const user_record& u, bool take) const {
  std::vector<stock_ask> asks;
  for (const auto& l : u.basket.lines) {
    auto it = u.ordered_units.find(l.product_id);
    int64_t in_orders = it == u.ordered_units.end() ? 0 : it->second;
    asks.push_back(stock_ask{l.product_id, l.held ? 0 : l.quantity, take, l.quantity, in_orders});
  }
  return asks;
}

void shard::place_order(const std::string& user_id, checkout_request req,
                        std::optional<std::string> idempotency_key,
                        reply<idempotent<order>> done) {
  with_user(user_id, [this, req = std::move(req), key = std::move(idempotency_key),
                      done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    std::string scope;
    uint64_t fingerprint = 0;
    if (key) {
      scope = std::string(place_order_scope) + *key;
      fingerprint = stable_hash(req.shipping_address_id + "\n" + req.billing_address_id + "\n" +
                                req.shipping_method);
      if (answered_from_key(u, scope, fingerprint, done)) return finish(u);
    }
    if (u.basket.lines.empty()) {
      done(make_error(error_code::cart_empty, "the cart is empty"));
      return finish(u);
    }
    if (u.order_ids.size() >= limits::orders_per_user_max) {
      done(make_error(error_code::invalid_request, "this customer has too many orders"));
      return finish(u);
    }
    auto required = [](const char* field, const char* message) {
      error_details d;
      d.field = field;
      return make_error(error_code::invalid_request, message, std::move(d));
    };
    if (req.shipping_address_id.empty()) {
      done(required("shipping_address_id", "shipping_address_id is required"));
      return finish(u);
    }
    if (req.shipping_method.empty()) {
      done(required("shipping_method", "shipping_method is required"));
      return finish(u);
    }
    const address* ship;
    const address* bill;
    const shipping_method* method;
    if (auto e = check_checkout_inputs(u, req, &ship, &bill, &method)) {
      done(std::move(*e));
      return finish(u);
    }
    // Every line is checked again; lapsed lines are reserved again, all or nothing.
    // The user is busy until this finishes, so their addresses cannot change meanwhile.
    ask_stock(checkout_asks(u, /*take=*/true), [this, &u, ship, bill, method = *method,
                                scope = std::move(scope), fingerprint, keyed = key.has_value(),
                                done = std::move(done)](
                                   std::vector<stock_answer> answers) mutable {
      const auto& lines = u.basket.lines;
      std::optional<error> failure;
      // API.md's order at checkout: sale_*, then limit_exceeded, then out_of_stock.
      for (error_code first : {error_code::sale_not_started, error_code::limit_exceeded}) {
        for (size_t i = 0; i < answers.size() && !failure; ++i) {
          auto c = answers[i].refused;
          bool match = c && (*c == first || (first == error_code::sale_not_started &&
                                             *c == error_code::sale_ended));
          if (match) {
            auto it = u.ordered_units.find(lines[i].product_id);
            int64_t in_orders = it == u.ordered_units.end() ? 0 : it->second;
            failure = refusal(*c, lines[i].product_id, answers[i], in_orders);
          }
        }
      }
      if (!failure) {
        error_details d;
        for (size_t i = 0; i < answers.size(); ++i) {
          if (answers[i].refused) d.items.push_back({lines[i].product_id, answers[i].available});
        }
        if (!d.items.empty()) {
          std::string msg = "not enough stock for " + std::to_string(d.items.size()) + " item(s)";
          failure = make_error(error_code::out_of_stock, std::move(msg), std::move(d));
        }
      }
      if (failure) {
        // Give back what this attempt took; it was never recorded, so no need to wait.
        for (size_t i = 0; i < answers.size(); ++i) {
          if (answers[i].reserved)
            move_stock(stock_move::kind::release, lines[i].product_id, lines[i].quantity);
        }
        done(std::move(*failure));
        return finish(u);
      }
      int64_t now = clock_.now_ms();
      order o;
      o.id = next_id("ord_", u.id);
      o.user_id = u.id;
      for (size_t i = 0; i < lines.size(); ++i) {
        const auto& a = answers[i];
        o.items.push_back(order_item{lines[i].product_id, a.name, a.unit_price,
                                     lines[i].quantity, a.unit_price * lines[i].quantity});
        o.subtotal += a.unit_price * lines[i].quantity;
      }
      o.method = method;
      o.shipping = method.price;
      o.total = o.subtotal + o.shipping;
      o.shipping_address = *ship;
      o.billing_address = *bill;
      o.expires_at_ms = now + config_.payment_ttl_ms;
      o.history.push_back({order_status::pending, now});
      o.created_at_ms = now;
      o.updated_at_ms = now;
      // The commit point: the order is recorded and the cart emptied in one effect.
      std::string id = o.id;
      record(order_placed{std::move(o)});
      const order& stored = *find_order(id);
      for (const auto& item : stored.items)
        move_stock(stock_move::kind::commit, item.product_id, item.quantity);
      notify(u, stored, "order.created");
      if (keyed) store_idempotent(u, scope, fingerprint, stored);
      when_answerable([answer = stored, done = std::move(done)]() mutable {
        done(idempotent<order>{std::move(answer), false});
      });
      finish(u);
    });
  });
}

// ---------------------------------------------------------------------------------------
// Orders

std::string shard::next_id(std::string_view prefix, std::string_view owner) {
  return make_owned_id(prefix, user_tag(owner), next_sequence_++);
}

order* shard::find_order(std::string_view order_id) {
  auto it = orders_.find(as_key(order_id));
  return it == orders_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------
// Live updates

void shard::watch(const std::string& topic, const std::string& requester, bool admin,
                  uint32_t from, uint64_t ticket) {
  result<watch_snapshot> answer = watch_snapshot{};
  std::string_view t = topic;
  if (t.substr(0, 8) == "product:") {
    const product* p = catalog_.find(t.substr(8));
    if (!p || !p->active) {
      answer = make_error(error_code::not_found, "no such product");
    } else {
      answer.value().available = p->units.available();
      published_available_.try_emplace(p->id, p->units.available());
    }
  } else if (t.substr(0, 6) == "order:") {
    const order* o = find_order(t.substr(6));
    if (!o || (!admin && o->user_id != requester)) {
      answer = make_error(error_code::not_found, "no such order");
    } else {
      answer.value().order_now = *o;
    }
  } else if (t.substr(0, 7) != "orders:" && t != "admin:orders") {
    answer = make_error(error_code::not_found, "no such topic");
  }
  if (answer.ok()) {
    auto& counts = watchers_[topic];
    counts.resize(peers_->size());
    ++counts[from];
  }
  send(from, shard_task{[ticket, answer = std::move(answer)](shard& s) mutable {
         if (s.live_) s.live_->watch_answered(ticket, std::move(answer));
       }});
}

void shard::unwatch(const std::string& topic, uint32_t from) {
  auto it = watchers_.find(topic);
  if (it == watchers_.end() || it->second[from] == 0) return;
  --it->second[from];
  for (uint32_t n : it->second)
    if (n > 0) return;
  watchers_.erase(it);
  if (topic.rfind("product:", 0) == 0) published_available_.erase(topic.substr(8));
}

void shard::publish(std::shared_ptr<const order_event> e) {
  // Each watching shard hears the event once, whichever of its topics it watches.
  std::vector<bool> to(peers_->size());
  bool any = false;
  for (const std::string& topic :
       {"orders:" + e->now.user_id, "order:" + e->now.id, std::string("admin:orders")}) {
    auto it = watchers_.find(topic);
    if (it == watchers_.end()) continue;
    for (uint32_t i = 0; i < to.size(); ++i)
      if (it->second[i] > 0) to[i] = any = true;
  }
  if (!any) return;
  for (uint32_t i = 0; i < to.size(); ++i) {
    if (!to[i]) continue;
    send(i, shard_task{[e](shard& s) {
           if (s.live_) s.live_->order_changed(e);
         }});
  }
}

void shard::publish_availability() {
  int64_t now = clock_.now_ms();
  for (auto& [product_id, last] : published_available_) {
    const product* p = catalog_.find(product_id);
    if (!p || p->units.available() == last) continue;
    last = p->units.available();
    auto it = watchers_.find("product:" + product_id);
    if (it == watchers_.end()) continue;
    for (uint32_t i = 0; i < it->second.size(); ++i) {
      if (it->second[i] == 0) continue;
      send(i, shard_task{[id = product_id, available = last, now](shard& s) {
             if (s.live_) s.live_->availability(id, available, now);
           }});
    }
  }
}

void shard::notify(user_record& u, const order& o, std::string_view event) {
  notification n;
  n.id = next_id("ntf_", u.id);
  n.event = std::string(event);
  n.order_id = o.id;
  n.order_status_now = o.status;
  n.items = o.items;
  n.total = o.total;
  n.tracking_number = o.tracking_number;
  n.message = std::string(message_for(event));
  n.created_at_ms = clock_.now_ms();
  std::shared_ptr<order_event> e;
  if (!watchers_.empty()) {
    e = std::make_shared<order_event>();
    e->now = o;
    e->note = n;
    e->status_changed = event != "order.payment_failed" && event != "order.refunded";
    if (o.history.size() >= 2) e->previous = o.history[o.history.size() - 2].status;
  }
  if (!webhooks_.empty()) {
    std::string event_id;
    for (const auto& w : webhooks_) {
      if (!webhook_wants(w, n.event)) continue;
      if (event_id.empty()) event_id = next_id("evt_", u.id);
      record(webhook_event_queued{outbox_entry{event_id, w.id, n, n.created_at_ms}});
    }
  }
  record(notification_added{u.id, std::move(n)});
  // Watchers hear of it once it is durable, as the client that caused it does.
  if (e) when_durable([this, e = std::move(e)]() mutable { publish(std::move(e)); });
}

void shard::change_status(user_record& u, order& o, order_status to,
                          std::optional<std::string> tracking_number) {
  STAMPEDE_CHECK(o.status == to ||
                 transition_allowed(o.status, to, transition_actor::admin) ||
                 transition_allowed(o.status, to, transition_actor::system));
  int64_t now = clock_.now_ms();
  order next = o;
  order_status from = o.status;
  next.status = to;
  next.history.push_back({to, now});
  next.updated_at_ms = now;
  if (tracking_number) next.tracking_number = std::move(tracking_number);
  if (to != order_status::pending) next.expires_at_ms.reset();
  bool refund = false;
  if (to == order_status::canceled) {
    for (auto& p : next.payments) {
      if (p.status == payment_status::succeeded) {
        p.status = payment_status::refunded;
        refund = true;
      }
    }
  }
  record(order_updated{next});
  const order& now_order = *find_order(next.id);
  notify(u, now_order, event_name_for(to));
  if (refund) notify(u, now_order, "order.refunded");
  if (holds_stock(from) && !holds_stock(to)) {
    // Stock returns only once the cancel is durable.
    std::vector<std::pair<std::string, int64_t>> items;
    for (const auto& item : now_order.items) items.emplace_back(item.product_id, item.quantity);
    when_durable([this, items = std::move(items)] {
      for (const auto& [product_id, units] : items)
        move_stock(stock_move::kind::uncommit, product_id, units);
    });
  }
}

void shard::get_order(std::string order_id, std::string requester, bool as_admin,
                      reply<order> done) {
  const order* o = find_order(order_id);
  if (!o || (!as_admin && o->user_id != requester))
    return done(make_error(error_code::not_found, "no such order"));
  with_user(o->user_id, [this, order_id = std::move(order_id), done = std::move(done)](
                            user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    done(*find_order(order_id));
    finish(u);
  }, as_admin ? caller::staff : caller::customer);
}

void shard::cancel_order(std::string order_id, std::string requester, bool as_admin,
                         reply<order> done) {
  const order* o = find_order(order_id);
  if (!o || (!as_admin && o->user_id != requester))
    return done(make_error(error_code::not_found, "no such order"));
  with_user(o->user_id, [this, order_id = std::move(order_id), as_admin,
                         done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    order& o = *find_order(order_id);
    auto actor = as_admin ? transition_actor::admin : transition_actor::owner;
    if (!transition_allowed(o.status, order_status::canceled, actor)) {
      done(make_error(error_code::invalid_transition,
                      "an order that is " + std::string(to_string(o.status)) +
                          " cannot be canceled"));
      return finish(u);
    }
    change_status(u, o, order_status::canceled, std::nullopt);
    when_answerable([o = *find_order(order_id), done = std::move(done)]() mutable {
      done(std::move(o));
    });
    finish(u);
  }, as_admin ? caller::staff : caller::customer);
}

void shard::set_order_status(std::string order_id, order_status to,
                             std::optional<std::string> tracking_number, reply<order> done) {
  const order* o = find_order(order_id);
  if (!o) return done(make_error(error_code::not_found, "no such order"));
  if (tracking_number && (tracking_number->empty() || tracking_number->size() > 200)) {
    error_details d;
    d.field = "tracking_number";
    return done(make_error(error_code::invalid_request, "tracking_number must be 1..200 bytes",
                           std::move(d)));
  }
  with_user(o->user_id, [this, order_id = std::move(order_id), to,
                         tracking = std::move(tracking_number),
                         done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    order& o = *find_order(order_id);
    if (!transition_allowed(o.status, to, transition_actor::admin)) {
      done(make_error(error_code::invalid_transition,
                      "cannot move an order from " + std::string(to_string(o.status)) + " to " +
                          std::string(to_string(to))));
      return finish(u);
    }
    change_status(u, o, to, std::move(tracking));
    when_answerable([o = *find_order(order_id), done = std::move(done)]() mutable {
      done(std::move(o));
    });
    finish(u);
  }, caller::staff);
}

void shard::pay_order(std::string order_id, std::string requester, payment_request req,
                      std::optional<std::string> idempotency_key,
                      reply<idempotent<payment_result>> done) {
  const order* o = find_order(order_id);
  if (!o || o->user_id != requester)
    return done(make_error(error_code::not_found, "no such order"));
  with_user(o->user_id, [this, order_id = std::move(order_id), req = std::move(req),
                         key = std::move(idempotency_key),
                         done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    std::string last4 = req.card.number.size() >= 4
                            ? req.card.number.substr(req.card.number.size() - 4)
                            : std::string();
    std::string scope;
    uint64_t fingerprint = 0;
    if (key) {
      scope = "POST /v1/orders/" + order_id + "/payments\n" + *key;
      // Never the full card number: a hash of 16 digits with known last four is reversible.
      fingerprint = stable_hash(req.method + "\n" + std::to_string(req.amount) + "\n" + last4 +
                                "\n" + std::to_string(req.card.exp_month) + "/" +
                                std::to_string(req.card.exp_year));
      if (answered_from_key(u, scope, fingerprint, done)) return finish(u);
    }
    const order& o = *find_order(order_id);
    if (o.status != order_status::pending) {
      done(make_error(error_code::invalid_transition, "only a pending order takes payments"));
      return finish(u);
    }
    if (req.amount != o.total) {
      done(make_error(error_code::amount_mismatch,
                      "amount must equal the order total " + std::to_string(o.total)));
      return finish(u);
    }
    STAMPEDE_CHECK(config_.gateway != nullptr);
    payment p;
    p.id = next_id("pay_", u.id);
    p.method = req.method;
    p.amount = req.amount;
    if (req.method == "card") {
      p.card_brand = card_brand(req.card.number);
      p.card_last4 = last4;
    }
    charge_request charge{p.id, order_id, req.method, req.amount, std::move(req.card)};
    // The outcome comes back as a message to this shard, whichever thread the gateway
    // answers on; the user stays busy until then, so nothing of theirs runs in between.
    config_.gateway->charge(
        std::move(charge),
        [this, &u, order_id, p = std::move(p), scope = std::move(scope), fingerprint,
         keyed = key.has_value(), done = std::move(done)](charge_outcome outcome) mutable {
          post(shard_task{[&u, order_id = std::move(order_id), p = std::move(p),
                           outcome = std::move(outcome), scope = std::move(scope), fingerprint,
                           keyed, done = std::move(done)](shard& s) mutable {
            s.finish_payment(u, std::move(order_id), std::move(p), std::move(outcome),
                             std::move(scope), fingerprint, keyed, std::move(done));
          }});
        });
  });
}

void shard::finish_payment(user_record& u, std::string order_id, payment p,
                           charge_outcome outcome, std::string scope, uint64_t fingerprint,
                           bool keyed, reply<idempotent<payment_result>> done) {
  p.status = outcome.status;
  p.failure_reason = outcome.failure_reason;
  p.redirect_url = outcome.redirect_url;
  p.created_at_ms = clock_.now_ms();
  order next = *find_order(order_id);
  bool still_pending = next.status == order_status::pending;
  if (p.status == payment_status::succeeded && !still_pending) {
    // The order was canceled while the charge ran: give the money back at once.
    p.status = payment_status::refunded;
  }
  next.payments.push_back(p);
  next.updated_at_ms = p.created_at_ms;
  record(order_updated{std::move(next)});
  if (p.status == payment_status::succeeded) {
    change_status(u, *find_order(order_id), order_status::paid, std::nullopt);
  } else if (p.status == payment_status::failed) {
    notify(u, *find_order(order_id), "order.payment_failed");
  } else if (p.status == payment_status::refunded) {
    notify(u, *find_order(order_id), "order.refunded");
  }
  payment_result answer{std::move(p), *find_order(order_id)};
  // Successes, pending actions and declines (402) are all stored under the key.
  if (keyed) store_idempotent(u, std::move(scope), fingerprint, answer);
  when_answerable([answer = std::move(answer), done = std::move(done)]() mutable {
    done(idempotent<payment_result>{std::move(answer), false});
  });
  finish(u);
}

void shard::settle_payment(std::string payment_id, payment_status status, std::string reason,
                           reply<ok_t> done) {
  auto it = payment_orders_.find(as_key(payment_id));
  if (it == payment_orders_.end())
    return done(make_error(error_code::not_found, "no such payment"));
  std::string order_id = it->second;
  const std::string& owner = find_order(order_id)->user_id;
  with_user(owner, [this, order_id = std::move(order_id), payment_id = std::move(payment_id),
                    status, reason = std::move(reason),
                    done = std::move(done)](user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    order next = *find_order(order_id);
    auto p = std::find_if(next.payments.begin(), next.payments.end(),
                          [&](const payment& x) { return x.id == payment_id; });
    STAMPEDE_CHECK(p != next.payments.end());
    if (p->status != payment_status::requires_action) {
      done(ok_t{});  // settled before: a repeated webhook changes nothing
      return finish(u);
    }
    const char* event = nullptr;
    bool pay = false;
    if (status == payment_status::succeeded) {
      if (next.status == order_status::pending) {
        p->status = payment_status::succeeded;
        pay = true;
      } else {
        p->status = payment_status::refunded;  // canceled meanwhile: refund at once
        event = "order.refunded";
      }
    } else {
      p->status = payment_status::failed;
      p->failure_reason = reason.empty() ? "payment_failed" : reason;
      event = "order.payment_failed";
    }
    next.updated_at_ms = clock_.now_ms();
    record(order_updated{std::move(next)});
    order& now = *find_order(order_id);
    if (pay) change_status(u, now, order_status::paid, std::nullopt);
    if (event) notify(u, now, event);
    when_answerable([done = std::move(done)]() mutable { done(ok_t{}); });
    finish(u);
  }, caller::staff);
}

void shard::list_orders(const std::string& user_id, std::string_view cursor, size_t limit,
                        reply<page<order>> done) {
  with_user(user_id, [this, cursor = std::string(cursor), limit, done = std::move(done)](
                         user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    page<order> out;
    // Newest first: walk the ids backwards from just before the cursor.
    size_t end = u.order_ids.size();
    if (!cursor.empty()) {
      auto it = std::find(u.order_ids.begin(), u.order_ids.end(), cursor);
      end = it == u.order_ids.end() ? 0 : static_cast<size_t>(it - u.order_ids.begin());
    }
    for (size_t i = end; i > 0 && out.items.size() < limit; --i)
      out.items.push_back(*find_order(u.order_ids[i - 1]));
    if (!out.items.empty() && end > out.items.size()) out.next_cursor = out.items.back().id;
    done(std::move(out));
    finish(u);
  });
}

void shard::list_notifications(const std::string& user_id, std::string_view cursor,
                               size_t limit, reply<page<notification>> done) {
  with_user(user_id, [this, cursor = std::string(cursor), limit, done = std::move(done)](
                         user_record& u, bool admitted) mutable {
    if (!admitted) return done(rate_limited());
    page<notification> out;
    const auto& inbox = u.notifications;
    size_t end = inbox.size();
    if (!cursor.empty()) {
      auto it = std::find_if(inbox.begin(), inbox.end(),
                             [&](const notification& n) { return n.id == cursor; });
      end = it == inbox.end() ? 0 : static_cast<size_t>(it - inbox.begin());
    }
    for (size_t i = end; i > 0 && out.items.size() < limit; --i)
      out.items.push_back(inbox[i - 1]);
    if (!out.items.empty() && end > out.items.size()) out.next_cursor = out.items.back().id;
    done(std::move(out));
    finish(u);
  });
}

std::vector<order> shard::orders_before(std::optional<order_status> status,
                                        std::optional<std::pair<int64_t, std::string>> cursor,
                                        size_t limit) const {
  std::vector<order> out;
  auto it = cursor ? orders_by_time_.lower_bound(*cursor) : orders_by_time_.end();
  while (it != orders_by_time_.begin() && out.size() < limit) {
    --it;
    const order& o = orders_.find(it->second)->second;
    if (status && o.status != *status) continue;
    out.push_back(o);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Timers and audit

void shard::tick() {
  int64_t now = clock_.now_ms();
  while (!hold_deadlines_.empty() && hold_deadlines_.begin()->first <= now) {
    std::string user_id = hold_deadlines_.begin()->second;
    hold_deadlines_.erase(hold_deadlines_.begin());
    with_user(
        user_id,
        [this](user_record& u, bool) {
          lapse_holds(u);
          finish(u);
        },
        caller::internal);
  }
  while (!payment_deadlines_.empty() && payment_deadlines_.begin()->first <= now) {
    std::string order_id = payment_deadlines_.begin()->second;
    payment_deadlines_.erase(payment_deadlines_.begin());
    order* o = find_order(order_id);
    if (!o) continue;
    with_user(
        o->user_id,
        [this, order_id](user_record& u, bool) {
          order& o = *find_order(order_id);
          if (o.status == order_status::pending && o.expires_at_ms &&
              *o.expires_at_ms <= clock_.now_ms())
            change_status(u, o, order_status::canceled, std::nullopt);
          finish(u);
        },
        caller::internal);
  }
  while (!idempotency_by_time_.empty() &&
         now - std::get<0>(*idempotency_by_time_.begin()) > limits::idempotency_retention_ms) {
    auto [at, user_id, scope] = *idempotency_by_time_.begin();
    idempotency_by_time_.erase(idempotency_by_time_.begin());
    auto& keys = user(user_id).idempotency;
    auto it = keys.find(scope);
    if (it != keys.end() && it->second.stored_at_ms == at) keys.erase(it);
  }
  // Availability goes out at most once a tick (10 a second) a product, the latest value.
  if (!published_available_.empty()) publish_availability();
}

void shard::stats_into(store_stats& out) const {
  store_stats mine;
  mine.products = static_cast<int64_t>(catalog_.size());
  mine.reserved_units = catalog_.reserved_total();
  mine.committed_units = catalog_.committed_total();
  mine.carts_holding = carts_holding_;
  mine.orders_by_status = orders_by_status_;
  out += mine;
}

void shard::audit_into(stock_audit& out) const {
  catalog_.for_each([&](const product& p) {
    auto& line = out[p.id];
    line.on_hand = p.units.on_hand();
    line.reserved = p.units.reserved();
    line.committed = p.units.committed();
  });
  for (const auto& [id, u] : users_) {
    for (const auto& l : u.basket.lines)
      if (l.held) out[l.product_id].held_in_carts += l.quantity;
  }
  for (const auto& [id, o] : orders_) {
    if (!holds_stock(o.status)) continue;
    for (const auto& item : o.items) out[item.product_id].in_live_orders += item.quantity;
  }
}

}  // namespace stampede
