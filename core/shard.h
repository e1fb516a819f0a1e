// One shard: the loop. A thread running an asio::io_context, the mailbox other threads
// post to, the per-destination batches it sends, the group commit of its effect_log, the
// timers, and the owners of the state it holds (the products and users whose ids hash
// here, with their carts, orders and keys). What requests do with that state lives in the
// concept files (catalog_ops, cart_ops, address_ops, checkout_ops, order_ops, payment_ops,
// events), which reach the owners through the accessors below. core/README.md maps it.
//
// Thread-safety: post(), inbox(), io(), index(), current() and stop() from any thread;
// everything else is shard-local (the owning thread, STAMPEDE_DCHECKed on entry), reached
// from elsewhere by posting a shard_task. No mutex guards state.
//
// Commit points (DESIGN.md): a user's requests run one at a time on the user's shard
// (user_table's turns); stock is granted on the product's shard (stock_exchange); a
// release of recorded stock is sent only after its record is durable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/functional/any_invocable.h"
#include "core/address.h"
#include "core/catalog.h"
#include "core/change_tracker.h"
#include "core/check.h"
#include "core/clock.h"
#include "core/drop_book.h"
#include "core/drop_gate.h"
#include "core/email_outbox.h"
#include "core/effect.h"
#include "core/idempotency.h"
#include "core/limits.h"
#include "core/live_registry.h"
#include "core/mailbox.h"
#include "core/message.h"
#include "core/order_book.h"
#include "core/owner_thread.h"
#include "core/payments.h"
#include "core/product_admin_queue.h"
#include "core/router.h"
#include "core/stats.h"
#include "core/stock_exchange.h"
#include "core/user_table.h"
#include "core/webhook_outbox.h"
#include "core/write_gate.h"
#include "core/write_queue.h"

namespace stampede {

// Settings every shard shares. Constant after construction.
struct shard_config {
  int64_t hold_ttl_ms = limits::hold_ttl_default_s * 1000;
  int64_t payment_ttl_ms = limits::payment_ttl_default_s * 1000;
  bool run_timer = true;  // tests turn the periodic timer off and call tick() themselves
  bool answer_before_durable = false;  // --durability async
  int64_t idle_spin_us = 50;  // how long an idle shard polls before it sleeps
  payment_gateway* gateway = nullptr;  // outlives the shard; required for payments
  bool email = false;  // --smtp-url: notify() queues a mail for each order with an address
  int64_t user_requests_per_s = limits::user_requests_per_s_default;  // 0: no rate limit
  size_t snapshot_units_per_turn = limits::snapshot_units_per_turn;  // tests lower it
  // The server's secret: admission tokens and card fingerprints are keyed from it.
  std::string secret = "stampede-dev-secret";
  write_gate_config writes;  // admission of client writes by queueing time
};

class shard final : private effect_recorder, private message_sink {
 public:
  using peers = std::vector<mailbox<message>*>;

  shard(uint32_t index, const router& routes, const clock& time, shard_config config,
        std::unique_ptr<effect_log> log = std::make_unique<memory_effect_log>());
  ~shard() override;
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  // REQUIRES: called once before run(); `all` outlives the shard, indexed by shard number.
  void connect(const peers* all);
  // The thread body: runs until stop(). Any thread may call stop().
  void run();
  void stop();

  // Simulation (tests/sim/): run() taken apart, so that one thread drives every shard a
  // step at a time in the order a seeded scheduler picks. run() is made of the same pieces.
  // Each step binds the shard to the calling thread for its duration, as run() does for its
  // life. REQUIRES: run() is not running; the caller keeps io() from running out of work.
  // A pass over at most `messages_max` (<= limits::shard_drain_batch_max) messages of the
  // inbox; returns how many it took.
  size_t step_drain(size_t messages_max);
  // Runs the io_context's ready handlers (a timer's), then ends the pass; how many ran.
  size_t step_poll();
  // The hand-off before sleeping: true if the loop now sleeps in the reactor; false if it
  // saw a counted message first and stays awake.
  bool step_fall_asleep();
  // The reactor of a sleeping loop: runs one ready handler (a wake-up, a timer's), after
  // which the loop is awake; false, still asleep, when none is ready.
  bool step_wake();

  // Any thread.
  void post(message&& m) { mailbox_.post(std::move(m)); }
  mailbox<message>& inbox() { return mailbox_; }
  boost::asio::io_context& io() { return io_; }
  uint32_t index() const { return index_; }
  int64_t inbox_depth() const { return mailbox_.depth(); }
  // The shard whose thread is calling, or nullptr on any other thread.
  static shard* current();
  // Client writes for this shard: the gate says whether one may queue now; post_write
  // queues it (directly from this shard's own thread, through the mailbox from others).
  const write_gate& writes_gate() const { return gate_; }
  void post_write(write_task&& t);
  // Writes refused: at the gate (counted by the engine), and by the queue (late, gone, full).
  std::atomic<uint64_t>& writes_shed_at_gate() { return shed_at_gate_; }

  // ---- Shard-local from here on. ----

  // Services for the concept files.
  // Logs `e` and applies it: the only way state changes. False, with nothing logged or
  // changed, when the log refuses it (over a record's size): the caller answers an error.
  [[nodiscard]] bool try_record(effect e);
  // try_record for an effect the limits keep well under a record's size (every field and
  // list bounded, or no larger than a record already logged): a refusal is a missing limit,
  // and stops the process before anything is acknowledged.
  void record(effect e) override;
  bool records() const override { return writable_; }
  // Logs `e` now and applies it only once it is durable, then runs `then`: for a change
  // that makes new stock grantable (DESIGN.md, "durable before it frees stock").
  void record_when_durable(effect e, absl::AnyInvocable<void()> then);
  // Runs fn once every record logged so far is durable (both durability modes).
  void when_durable(absl::AnyInvocable<void()> fn);
  // A client's answer: after durability, or with --durability async at the end of the pass.
  void when_answerable(absl::AnyInvocable<void()> fn);
  // Frees stock a recorded change gave up (a cancel, a removed line, a lapsed hold): the
  // moves go once the change is durable (DESIGN.md, "durable before it frees stock"), and
  // `then` runs once the products' shards have applied them, so an answer given there is
  // seen by every read that starts after it. With --durability async, `then` runs at the
  // end of the pass, ahead of both (README, "What an answer promises").
  void free_stock(std::vector<stock_move> moves, absl::AnyInvocable<void()> then);
  // Into the per-destination batch for shard `to`, posted in bulk at the end of the pass.
  void send(uint32_t to, message&& m) override;
  // A fresh server-made id ("ord_...") naming `owner`'s user tag and this shard's sequence.
  std::string next_id(std::string_view prefix, std::string_view owner);
  int64_t now_ms() const { return clock_.now_ms(); }
  const shard_config& config() const { return config_; }
  const router& routes() const { return routes_; }

  // The owners of the state, each with its contract in its header.
  catalog& products() { return checked(catalog_); }
  const catalog& products() const { return checked(catalog_); }
  user_table& users() { return checked(users_); }
  const user_table& users() const { return checked(users_); }
  order_book& orders() { return checked(orders_); }
  const order_book& orders() const { return checked(orders_); }
  idempotency_store& idempotency() { return checked(idempotency_); }
  const idempotency_store& idempotency() const { return checked(idempotency_); }
  stock_exchange& exchange() { return checked(exchange_); }
  live_registry& live() { return checked(live_); }
  webhook_outbox& webhooks() { return checked(webhooks_); }
  const webhook_outbox& webhooks() const { return checked(webhooks_); }
  email_outbox& mail() { return checked(mail_); }
  product_admin_queue& product_admin() { return checked(product_admin_); }
  // Drops: those whose id hashes here, and the gate of the products that do (drop_gate.h);
  // the admission tokens and card fingerprints made and checked here.
  drop_book& drops() { return checked(drops_); }
  const drop_book& drops() const { return checked(drops_); }
  drop_gate& gate() { return checked(drop_gate_); }
  const drop_gate& gate() const { return checked(drop_gate_); }
  const admission_signer& signer() const { return checked(signer_); }
  const card_fingerprinter& fingerprints() const { return checked(fingerprints_); }
  // The outbox for its deliverer, taken on any thread; the outbox checks its own thread at
  // every use.
  webhook_outbox& outbox_handle() { return webhooks_; }
  email_outbox& mail_handle() { return mail_; }
  // Every shard keeps its own copy of the store's shipping methods.
  const std::vector<shipping_method>& shipping_methods() const { return checked(shipping_); }

  // The live sink (live.h) of this shard's connections; set before any watch.
  void set_live_sink(live_sink* sink) { live().set_sink(sink); }

  // Durability: the log reports records synced up to lsn (a message from its I/O thread).
  void on_log_synced(uint64_t lsn);
  // Answers and releases still waiting for their records to be durable.
  size_t pending_durable() const {
    return after_durable_.size() + after_pass_.size() + after_acked_.size();
  }
  // Work under way that may still move stock without a new request: what waits for
  // durability, stock questions and barriers awaiting answers, users whose turn is taken
  // (a request or the timer's work, or work queued behind them), and writes queued.
  size_t under_way() const {
    return pending_durable() + exchange_.gathers_pending() +
           static_cast<size_t>(users_.users_busy()) + writes_.size();
  }

  // Recovery only, before run(): apply a logged effect again, then swap in the real log,
  // then set the counts recomputed from every shard's carts and orders.
  void replay(effect&& e);

  // Replication (core/replica_ops.h, persistence/replication_node.h). A follower applies the
  // primary's record numbered `lsn` (its log counts it durable); only a writable shard
  // records anything, and runs the timers that do (a follower's timers publish availability
  // and change nothing). A deposed primary abandons what waits for durability that will
  // never come: every reply among it answers not_primary (core/reply.h).
  void replicated(effect&& e, uint64_t lsn);
  void set_writable(bool writable) { writable_ = writable; }
  bool writable() const { return writable_; }
  void abandon_pending();
  // Recovery only: room for about this many products, users and orders, so that replay does
  // not rehash its way up from empty (node maps: only bucket arrays are allocated).
  void reserve_for_replay(size_t entries);
  void set_log(std::unique_ptr<effect_log> log);
  // Rebuilds this shard's products' reserved and committed from every shard's carts and
  // orders (read-only), with no other thread writing anything. "" or what is wrong.
  std::string rebuild_stock(const std::vector<const shard*>& all);

  // Snapshots (snapshot_capture.cc): sends `sink` every unit changed since the last
  // snapshot, as it is right after the last record logged before the first unit is taken
  // (change_tracker.h), a bounded chunk per turn of the loop, then covered(). Waits while
  // a product admin change is logged but not yet applied. Ignored while one runs.
  void begin_snapshot(snapshot_sink* sink);
  // Recovery: what a snapshot loaded has not changed since that snapshot.
  void forget_changes() { changes_.forget(); }

  // Timers: lapse holds, cancel unpaid orders, forget old idempotency keys, publish
  // availability. The loop runs it every limits::shard_timer_period_ms.
  void tick();
  void stats_into(store_stats& out) const;
  // Adds this shard's part of the whole-store audit.
  void audit_into(stock_audit& out) const;

 private:
  struct applier;
  template <class T>
  T& checked(T& owned) const {
    STAMPEDE_DCHECK(owner_.is_current());
    return owned;
  }

  // The loop.
  class loop_binding;
  size_t drain(size_t messages_max);
  bool fall_asleep();
  void wake_up();
  void end_of_pass();
  void commit_pass();
  void flush_outgoing(uint32_t to);
  void handle(stock_request& m) { exchange_.on_request(m); }
  void handle(stock_reply& m) { exchange_.on_reply(m); }
  void handle(stock_move& m) { exchange_.on_move(m); }
  void handle(shard_task& m) { m.run(*this); }
  void handle(write_task& m) { writes_.push(std::move(m)); }
  // Runs the front of the write queue: a bounded batch, after this pass's reads.
  void run_writes();
  // Runs the reactor's ready handlers (sockets, timers), or some while writes are due, in a
  // pass that started at `pass_start`; how many ran.
  size_t poll_sockets(std::chrono::steady_clock::time_point pass_start);
  void arm_timer();
  void apply(effect&& e);
  void note_id(std::string_view id, std::string_view prefix);
  void note_ids(const order& o);
  // Snapshots (snapshot_capture.cc): the next chunk of a round, and one unit as it is now.
  void snapshot_step();
  snapshot_unit capture(unit_kind kind, const std::string& id) const;
  void capture_user(const std::string& id, std::vector<effect>& out) const;

  // First member, destroyed last: closes the window in which queued replies may be dropped.
  reply_drop_window::closer drop_window_closer_;

  // Constant after construction.
  const uint32_t index_;
  const router& routes_;
  const clock& clock_;
  const shard_config config_;
  const peers* peers_ = nullptr;
  owner_thread owner_;

  // Owned state. Declared before the loop's queues, so that it outlives every closure
  // still waiting in them when the shard is destroyed (they may hold a user's turn).
  catalog catalog_;
  drop_gate drop_gate_;  // before exchange_, which decides through it
  drop_book drops_;
  admission_signer signer_;
  card_fingerprinter fingerprints_;
  std::vector<shipping_method> shipping_;
  user_table users_;
  order_book orders_;
  idempotency_store idempotency_;
  webhook_outbox webhooks_;
  email_outbox mail_;
  live_registry live_;
  change_tracker changes_;
  product_admin_queue product_admin_;
  stock_exchange exchange_;
  uint64_t next_sequence_ = 1;  // server-made ids; the shard number in the top bits

  // The loop's own state.
  boost::asio::io_context io_;
  mailbox<message> mailbox_;
  std::atomic<bool> sleeping_{false};  // the loop is (about to be) blocked in the reactor
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer snapshot_timer_;
  bool door_behind_ = false;  // the last pass ended before every ready socket was read
  bool snapshot_turn_due_ = false;  // the loop takes the next chunk after its next batch
  std::vector<message> batch_;
  write_gate gate_;
  write_queue writes_{gate_};
  std::atomic<uint64_t> shed_at_gate_{0};
  std::vector<std::vector<message>> outgoing_;       // per destination shard
  std::vector<moodycamel::ProducerToken> tokens_;   // ours, per destination mailbox
  std::unique_ptr<effect_log> log_;
  uint64_t last_lsn_ = 0;
  std::deque<std::pair<uint64_t, absl::AnyInvocable<void()>>> after_durable_;
  std::vector<absl::AnyInvocable<void()>> after_pass_;
  // --durability async under replication: answers waiting for the stream's ack.
  std::deque<std::pair<uint64_t, absl::AnyInvocable<void()>>> after_acked_;
  bool writable_ = true;

  // Last member, destroyed first: what is still queued above is dropped with the shard.
  reply_drop_window::opener drop_window_opener_;
};

}  // namespace stampede
