#include "core/shard.h"

#include <chrono>
#include <limits>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "core/cart_ops.h"
#include "core/drop_identity.h"
#include "core/drop_ops.h"
#include "core/drop_product_ops.h"
#include "core/events.h"
#include "core/ids.h"
#include "core/order_ops.h"

namespace stampede {

namespace asio = boost::asio;

namespace {

thread_local shard* this_thread_shard = nullptr;

// Server-made ids carry the shard number above the sequence's low 40 bits, so ids of
// different shards never collide (and a replay finds its own shard's counter).
constexpr unsigned sequence_shard_shift = 40;
static_assert(limits::shards_max <= (uint64_t{1} << (owned_id_sequence_bits - sequence_shard_shift)),
              "the shard number fits the id sequence above its shift");

}  // namespace

shard::shard(uint32_t index, const router& routes, const clock& time, shard_config config,
             std::unique_ptr<effect_log> log)
    : index_(index),
      routes_(routes),
      clock_(time),
      config_(config),
      signer_(config.secret),
      fingerprints_(config.secret),
      shipping_(default_shipping_methods()),
      users_(owner_, time, config.user_requests_per_s),
      webhooks_(owner_, *this),
      mail_(owner_, *this),
      live_(routes.shard_count()),
      exchange_(index, routes, catalog_, drop_gate_, *this),
      next_sequence_((static_cast<uint64_t>(index) << sequence_shard_shift) + 1),
      mailbox_([this] {
        // The loop drains the mailbox itself; a post only wakes it if it is asleep.
        if (sleeping_.load(std::memory_order_seq_cst)) asio::post(io_, [] {});
      }),
      timer_(io_),
      snapshot_timer_(io_),
      batch_(limits::shard_drain_batch_max),
      gate_(config.writes),
      log_(std::move(log)) {
  STAMPEDE_CHECK(index < limits::shards_max);
}

shard::~shard() {
  // Closures still queued may hold a user's turn; ending one must start nothing now.
  users_.close();
}

void shard::connect(const peers* all) {
  peers_ = all;
  outgoing_.resize(all->size());
  for (auto* box : *all) tokens_.push_back(box->make_producer_token());
}

shard* shard::current() { return this_thread_shard; }

// ---------------------------------------------------------------------------------------
// The loop

// The calling thread is the shard's loop while this lives: run()'s whole life, or one
// step of the simulator.
class shard::loop_binding {
 public:
  explicit loop_binding(shard& s) : s_(s), was_(this_thread_shard) {
    this_thread_shard = &s;
    s.owner_.bind();
  }
  ~loop_binding() {
    s_.owner_.unbind();
    this_thread_shard = was_;
  }
  loop_binding(const loop_binding&) = delete;
  loop_binding& operator=(const loop_binding&) = delete;

 private:
  shard& s_;
  shard* was_;
};

void shard::run() {
  loop_binding bound(*this);
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
      worked = poll_sockets(now) > 0;
      last_poll = now;
      // Handlers outside drain() (sockets, later) may have recorded or sent something.
      if (worked) end_of_pass();
    }
    if (mailbox_.depth() > 0) {
      drain(batch_.size());
      worked = true;
    }
    // Writes go after the reads and messages of the pass, a bounded batch at a time.
    if (!writes_.empty()) {
      run_writes();
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
    if (!fall_asleep()) continue;
    io_.run_one();
    wake_up();
    idle_since = std::chrono::steady_clock::now();
  }
}

// The socket handlers that are ready, one at a time, until none is ready or the shard's
// other work must have its turn. A pass normally reads every ready socket first, so that
// the write gate sees the whole line and sheds at the door. But with thousands of busy
// connections the sockets may never all be read: when a pass ran until none was, one pass
// lasted the whole 10 s of a load, no write and no message ran, and the gate, its queue's
// head that old, refused every write (issue 9: goodput 0.1% of capacity at 1.5x with
// 8,192 connections). So once a pass has lasted the gate's target, it ends as soon as the
// oldest write has waited past that target or a message waits in the mailbox; and until a
// pass reads every ready socket again (the door has caught up), every pass ends that way
// after a short slice. The writes the gate let in then run within about its target, and
// the door has the rest.
size_t shard::poll_sockets(std::chrono::steady_clock::time_point pass_start) {
  const int64_t target = gate_.config().target_ns;
  const int64_t slice = limits::socket_slice_behind_us * 1000;
  // The loop's own reading of the clock for this turn (steady_now_ns's clock and unit).
  const int64_t start =
      std::chrono::duration_cast<std::chrono::nanoseconds>(pass_start.time_since_epoch()).count();
  size_t n = 0;
  for (;;) {
    if (io_.poll_one() == 0) {
      door_behind_ = false;
      return n;
    }
    // A clock read every few handlers (one handler is about one request read: 10-20 us).
    if (++n % 8 != 0) continue;
    int64_t now = steady_now_ns();
    if (now - start <= (door_behind_ ? slice : target)) continue;
    int64_t head = writes_.front_enqueued_ns();
    if ((head != 0 && now - head > target) || mailbox_.depth() > 0) {
      door_behind_ = true;
      return n;
    }
  }
}

bool shard::fall_asleep() {
  // Dekker-style hand-off with mailbox::post: either we see its message here, or it
  // sees sleeping_ and posts the wake-up.
  sleeping_.store(true, std::memory_order_seq_cst);
  if (mailbox_.depth() <= 0) return true;
  sleeping_.store(false, std::memory_order_relaxed);
  return false;
}

void shard::wake_up() {
  sleeping_.store(false, std::memory_order_relaxed);
  // What the handler that woke us recorded or sent goes now, not at the next event.
  end_of_pass();
}

size_t shard::step_drain(size_t messages_max) {
  STAMPEDE_CHECK(messages_max <= batch_.size());
  loop_binding bound(*this);
  size_t n = drain(messages_max);
  // As run(): the writes a pass queued go after its messages. Here all of them, bounded by
  // count and not by the clock, so that a seed replays the same.
  while (!writes_.empty()) {
    writes_.run_front(limits::write_batch_max, std::numeric_limits<int64_t>::max());
    end_of_pass();
  }
  return n;
}

size_t shard::step_poll() {
  loop_binding bound(*this);
  size_t n = io_.poll();
  if (n > 0) end_of_pass();
  return n;
}

bool shard::step_fall_asleep() { return fall_asleep(); }

bool shard::step_wake() {
  loop_binding bound(*this);
  if (io_.poll_one() == 0) return false;
  wake_up();
  return true;
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
size_t shard::drain(size_t messages_max) {
  auto [n, more] = mailbox_.take(batch_.data(), messages_max);
  (void)more;
  for (size_t i = 0; i < n; ++i) {
    std::visit([this](auto& m) { handle(m); }, batch_[i]);
    batch_[i] = message{};
  }
  end_of_pass();
  return n;
}

void shard::post_write(write_task&& t) {
  if (current() == this) return writes_.push(std::move(t));
  post(message{std::move(t)});
}

void shard::run_writes() {
  auto budget = std::chrono::microseconds(limits::write_batch_us);
  writes_.run_front(limits::write_batch_max,
                    steady_now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(budget).count());
  end_of_pass();
}

void shard::send(uint32_t to, message&& m) {
  STAMPEDE_DCHECK(owner_.is_current());
  auto& box = outgoing_[to];
  box.push_back(std::move(m));
  if (box.size() >= limits::shard_drain_batch_max) flush_outgoing(to);
}

void shard::flush_outgoing(uint32_t to) {
  auto& box = outgoing_[to];
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
  for (uint32_t to = 0; to < outgoing_.size(); ++to)
    if (!outgoing_[to].empty()) flush_outgoing(to);
}

void shard::commit_pass() {
  // Group commit: everything recorded in this pass becomes durable together; then the
  // answers and releases waiting for it go out. Those may record more, hence the loop.
  for (;;) {
    log_->flush();
    for (uint64_t acked = log_->acknowledged_lsn();
         !after_acked_.empty() && after_acked_.front().first <= acked;) {
      auto fn = std::move(after_acked_.front().second);
      after_acked_.pop_front();
      fn();
    }
    uint64_t durable = log_->durable_lsn();
    if (after_durable_.empty() || after_durable_.front().first > durable) return;
    while (!after_durable_.empty() && after_durable_.front().first <= durable) {
      auto fn = std::move(after_durable_.front().second);
      after_durable_.pop_front();
      fn();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Effects

bool shard::try_record(effect e) {
  STAMPEDE_DCHECK(owner_.is_current());
  uint64_t lsn = log_->append(e);
  if (lsn == 0) return false;
  last_lsn_ = lsn;
  apply(std::move(e));
  return true;
}

void shard::record(effect e) { STAMPEDE_CHECK(try_record(std::move(e))); }

void shard::record_when_durable(effect e, absl::AnyInvocable<void()> then) {
  STAMPEDE_DCHECK(owner_.is_current());
  uint64_t lsn = log_->append(e);
  STAMPEDE_CHECK(lsn != 0);  // catalog fields are bounded (catalog.cc's validate)
  last_lsn_ = lsn;
  when_durable([this, e = std::move(e), then = std::move(then)]() mutable {
    apply(std::move(e));
    then();
  });
}

void shard::when_durable(absl::AnyInvocable<void()> fn) {
  STAMPEDE_DCHECK(owner_.is_current());
  after_durable_.emplace_back(last_lsn_, std::move(fn));
}

void shard::when_answerable(absl::AnyInvocable<void()> fn) {
  if (config_.answer_before_durable) {
    // --durability async: the answer goes at the end of this pass, with the records still
    // on their way to disk (under replication: once the stream has them). Releases never
    // take this path.
    STAMPEDE_DCHECK(owner_.is_current());
    if (log_->answers_wait_for_ack()) {
      after_acked_.emplace_back(last_lsn_, std::move(fn));
    } else {
      after_pass_.push_back(std::move(fn));
    }
  } else {
    when_durable(std::move(fn));
  }
}

void shard::free_stock(std::vector<stock_move> moves, absl::AnyInvocable<void()> then) {
  STAMPEDE_DCHECK(owner_.is_current());
  if (config_.answer_before_durable) {
    if (then) after_pass_.push_back(std::move(then));
    then = nullptr;
  }
  when_durable([this, moves = std::move(moves), then = std::move(then)]() mutable {
    exchange_.move_all(std::move(moves), std::move(then));
  });
}

std::string shard::next_id(std::string_view prefix, std::string_view owner) {
  STAMPEDE_DCHECK(owner_.is_current());
  return make_owned_id(prefix, user_tag(owner), next_sequence_++);
}

void shard::note_id(std::string_view id, std::string_view prefix) {
  // After a replay the counter continues past the highest id of this shard seen.
  auto seq = sequence_of(id, prefix);
  if (seq && (*seq >> sequence_shard_shift) == index_ && *seq >= next_sequence_)
    next_sequence_ = *seq + 1;
}

// One effect, applied to the owners it changes.
struct shard::applier {
  shard& s;
  void operator()(product_created& x) { STAMPEDE_CHECK(s.catalog_.insert(std::move(x.fields)).ok()); }
  void operator()(const product_patched& x) {
    STAMPEDE_CHECK(s.catalog_.patch(x.product_id, x.patch).ok());
  }
  void operator()(const on_hand_set& x) {
    product_patch p;
    p.on_hand = x.on_hand;
    STAMPEDE_CHECK(s.catalog_.patch(x.product_id, p).ok());
  }
  void operator()(const product_deactivated& x) {
    STAMPEDE_CHECK(s.catalog_.deactivate(x.product_id).ok());
  }
  void operator()(product_restored& x) {
    STAMPEDE_CHECK(s.catalog_.restore(std::move(x.fields), x.active, x.version).ok());
  }
  void operator()(shipping_methods_replaced& x) { s.shipping_ = std::move(x.methods); }
  void operator()(cart_replaced& x) { s.users_.replace_cart(x.user_id, std::move(x.contents)); }
  void operator()(const address_added& x) { s.users_.add_address(x.user_id, x.value); }
  void operator()(const address_deleted& x) { s.users_.delete_address(x.user_id, x.address_id); }
  void operator()(notification_added& x) {
    s.note_id(x.value.id, "ntf_");
    s.users_.add_notification(x.user_id, std::move(x.value));
  }
  void operator()(drop_notice_added& x) {
    notification_added same{x.user_id, std::move(x.value)};
    (*this)(same);
  }
  void operator()(order_placed& x) {
    s.note_ids(x.value);
    s.users_.order_placed(s.orders_.place(std::move(x.value)));
  }
  void operator()(order_updated& x) {
    s.note_ids(x.value);
    // A replayed update does not carry its payments' card fingerprints (card_fingerprint_set).
    if (const order* before = s.orders_.find(x.value.id)) keep_card_fingerprints(*before, x.value);
    order was = s.orders_.update(std::move(x.value));
    s.users_.order_changed(was, *s.orders_.find(was.id));
  }
  void operator()(idempotency_stored& x) { s.idempotency_.keep(compact(std::move(x))); }
  void operator()(idempotency_kept& x) {
    if (x.kind == answer_kind::cart_now) {
      // The answer of an add: the cart the record before this one left.
      const user_record* u = s.users_.find(x.user_id);
      x.kind = answer_kind::cart;
      codec::encode(x.answer, u ? u->basket : cart{});
    }
    s.idempotency_.keep(std::move(x));
  }
  void operator()(webhooks_replaced& x) { s.webhooks_.replace(std::move(x.list)); }
  void operator()(webhook_event_queued& x) {
    s.note_id(x.entry.event_id, "evt_");
    s.webhooks_.queue(std::move(x.entry));
  }
  void operator()(const webhook_event_done& x) {
    s.webhooks_.remove({x.created_at_ms, x.event_id, x.webhook_id});
  }
  // Drops: the drop's shard and the product's.
  void operator()(drop_created& x) { s.drops_.apply(drop_effect(std::move(x))); }
  void operator()(drop_status_set& x) { s.drops_.apply(drop_effect(std::move(x))); }
  void operator()(drop_ticket_set& x) { s.drops_.apply(drop_effect(std::move(x))); }
  void operator()(drop_ticket_removed& x) { s.drops_.apply(drop_effect(std::move(x))); }
  void operator()(drop_entry_set& x) { s.drops_.apply(drop_effect(std::move(x))); }
  void operator()(waitlist_entry_set& x) { s.drop_gate_.lists().apply(waitlist_effect(std::move(x))); }
  void operator()(waitlist_entry_removed& x) { s.drop_gate_.lists().apply(waitlist_effect(std::move(x))); }
  void operator()(const product_limits_set& x) {
    STAMPEDE_CHECK(s.catalog_.set_account_limits(x.product_id, x.max_per_address, x.max_per_card));
  }
  void operator()(const card_fingerprint_set& x) {
    if (order* o = s.orders_.find(x.order_id)) set_card_fingerprint(*o, x.payment_id, x.fingerprint);
  }
  void operator()(email_queued& x) {
    s.note_id(x.entry.event_id, "evt_");
    s.mail_.queue(std::move(x.entry));
  }
  void operator()(const email_done& x) { s.mail_.remove({x.created_at_ms, x.event_id}); }
};

void shard::note_ids(const order& o) {
  note_id(o.id, "ord_");
  for (const auto& p : o.payments) note_id(p.id, "pay_");
}

void shard::apply(effect&& e) {
  changes_.note(e, [this](unit_kind kind, const std::string& id) { return capture(kind, id); });
  std::visit(applier{*this}, e);
}

// ---------------------------------------------------------------------------------------
// Durability and recovery

void shard::on_log_synced(uint64_t lsn) { log_->mark_durable(lsn); }

void shard::replay(effect&& e) { apply(std::move(e)); }

void shard::replicated(effect&& e, uint64_t lsn) {
  STAMPEDE_DCHECK(owner_.is_current());
  apply(std::move(e));
  last_lsn_ = lsn;
  log_->mark_durable(lsn);
}

void shard::abandon_pending() {
  STAMPEDE_DCHECK(owner_.is_current());
  // The replies in these closures are dropped on purpose: they answer not_primary.
  ++reply_drop_window::open;
  ++reply_drop_window::abandoning;
  after_durable_.clear();
  after_pass_.clear();
  after_acked_.clear();
  --reply_drop_window::abandoning;
  --reply_drop_window::open;
}

void shard::reserve_for_replay(size_t entries) {
  users_.reserve(entries);
  changes_.reserve(entries);
  orders_.reserve(entries);
  catalog_.reserve(entries);
}

void shard::set_log(std::unique_ptr<effect_log> log) {
  log_ = std::move(log);
  last_lsn_ = log_->durable_lsn();  // the log continues from what recovery found
}

std::string shard::rebuild_stock(const std::vector<const shard*>& all) {
  catalog_.clear_counts();
  std::string problem;
  auto count = [&](const std::string& owner, const std::string& product_id, int64_t reserved,
                   int64_t committed) {
    if (!problem.empty() || routes_.product_shard(product_id) != index_) return;
    if (!catalog_.add_counts(product_id, reserved, committed))
      problem = owner + " holds product " + product_id + ", which is not in the catalog";
  };
  for (const shard* s : all) {
    s->users_.for_each([&](const user_record& u) {
      for (const auto& l : u.basket.lines)
        if (l.held) count("user " + u.id, l.product_id, l.quantity, 0);
    });
    s->orders_.for_each([&](const order& o) {
      if (!holds_stock(o.status)) return;
      for (const auto& item : o.items) count("order " + o.id, item.product_id, 0, item.quantity);
    });
  }
  // Derived like the counts: which products are in an open drop, and the limits across
  // accounts; then the drops restart (their tickets count as seen now).
  drop_ops::restore_claims(*this, all);
  drop_product_ops::restore(*this, all);
  drop_ops::restore_drops(*this);
  return problem.empty() ? catalog_.check_counts() : problem;
}

// ---------------------------------------------------------------------------------------
// Timers and figures

void shard::tick() {
  int64_t now = clock_.now_ms();
  if (writable_) {  // a follower's holds and orders lapse on its primary's timer
    cart_ops::lapse_holds_due(*this, now);
    order_ops::cancel_unpaid_due(*this, now);
  }
  idempotency().expire(now);  // in memory only, not logged
  // Availability goes out at most once a tick (10 a second) a product, the latest value.
  events::publish_availability(*this);
  // Drops: their products' supply and waitlist offers here, the drops' clocks here. A
  // follower's drops open, admit, expire and sell out by its primary's records: its own
  // clock would record (and a follower's log refuses every record).
  if (writable_) {
    drop_product_ops::tick(*this);
    drop_ops::tick(*this, now);
  }
}

void shard::stats_into(store_stats& out) const {
  store_stats mine;
  mine.products = static_cast<int64_t>(products().size());
  mine.reserved_units = catalog_.reserved_total();
  mine.committed_units = catalog_.committed_total();
  mine.carts_holding = users_.carts_holding();
  mine.orders_by_status = orders_.by_status();
  drops_.for_each([&](const drop& d) {
    drop_view v = d.view(clock_.now_ms());
    mine.drops.push_back(drop_figures{d.id(), v.state, v.waiting, v.admitted, v.converted,
                                      v.expired});
  });
  mine.writes_shed = static_cast<int64_t>(shed_at_gate_.load(std::memory_order_relaxed));
  mine.writes_late = static_cast<int64_t>(writes_.stats().late.load(std::memory_order_relaxed));
  mine.writes_gone = static_cast<int64_t>(writes_.stats().gone.load(std::memory_order_relaxed));
  mine.writes_full = static_cast<int64_t>(writes_.stats().full.load(std::memory_order_relaxed));
  out += mine;
}

void shard::audit_into(stock_audit& out) const {
  products().for_each([&](const product& p) {
    auto& line = out[p.id];
    line.on_hand = p.units.on_hand();
    line.reserved = p.units.reserved();
    line.committed = p.units.committed();
  });
  users_.for_each([&](const user_record& u) {
    for (const auto& l : u.basket.lines)
      if (l.held) out[l.product_id].held_in_carts += l.quantity;
  });
  orders_.for_each([&](const order& o) {
    if (!holds_stock(o.status)) return;
    for (const auto& item : o.items) out[item.product_id].in_live_orders += item.quantity;
  });
}

}  // namespace stampede
