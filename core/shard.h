// One shard: a thread running an asio::io_context, the mailbox other threads post to, and
// the part of the store it owns (the products whose id hashes here, the users whose id
// hashes here, their carts, holds, addresses, orders and idempotency keys).
//
// Shard-local: every method below except post(), mailbox() and io() runs only on the
// shard's own thread (the engine gets there with a shard_task). No mutex guards state.
//
// Commit points (DESIGN.md): a user's requests run one at a time on the user's shard
// (others wait their turn in the user's queue); stock is granted on the product's shard;
// a release of recorded stock is sent only after its record is durable.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "core/address.h"
#include "core/cart.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "core/effect.h"
#include "core/limits.h"
#include "core/live.h"
#include "core/mailbox.h"
#include "core/message.h"
#include "core/order.h"
#include "core/payments.h"
#include "core/reply.h"
#include "core/router.h"

namespace stampede {

// Settings every shard shares. Constant after construction.
struct shard_config {
  int64_t hold_ttl_ms = 600'000;
  int64_t payment_ttl_ms = 900'000;
  bool run_timer = true;  // tests turn the periodic timer off and call tick() themselves
  bool answer_before_durable = false;  // --durability async
  int64_t idle_spin_us = 50;  // how long an idle shard polls before it sleeps
  payment_gateway* gateway = nullptr;  // outlives the shard; required for payments
  int64_t user_requests_per_s = limits::user_requests_per_s_default;  // 0: no rate limit
  size_t snapshot_units_per_turn = limits::snapshot_units_per_turn;  // tests lower it
};

// A checkout's inputs (POST /v1/orders and /v1/checkout/preview).
struct checkout_request {
  std::string shipping_address_id;
  std::string billing_address_id;  // empty: same as shipping
  std::string shipping_method;
};

struct checkout_problem {
  std::string product_id;
  error_code code;
  int64_t available = 0;
};

struct checkout_summary {
  cart_view cart;
  int64_t shipping = 0;
  int64_t total = 0;
  std::optional<address> shipping_address;
  std::optional<address> billing_address;
  std::optional<shipping_method> method;
  std::vector<shipping_method> methods;
  std::vector<checkout_problem> problems;
  bool ready = false;
};

// POST /v1/orders/{id}/payments, checked for shape by the caller.
struct payment_request {
  std::string method;  // "card" | "paypal"
  int64_t amount = 0;
  card_details card;   // empty for paypal
};

// Whole-store accounting for tests and recovery checks: per product, the counts the
// product shard holds and what the users' carts and orders say they should be.
struct stock_audit_line {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t committed = 0;
  int64_t held_in_carts = 0;
  int64_t in_live_orders = 0;
  stock_audit_line& operator+=(const stock_audit_line& o) {
    on_hand += o.on_hand;
    reserved += o.reserved;
    committed += o.committed;
    held_in_carts += o.held_in_carts;
    in_live_orders += o.in_live_orders;
    return *this;
  }
};
using stock_audit = absl::flat_hash_map<std::string, stock_audit_line>;

// Gauges for /metrics, kept up to date as state changes (a scrape never scans the store).
struct store_stats {
  int64_t products = 0;
  int64_t reserved_units = 0;
  int64_t committed_units = 0;
  int64_t carts_holding = 0;
  std::array<int64_t, 7> orders_by_status{};  // indexed by order_status
  store_stats& operator+=(const store_stats& o) {
    products += o.products;
    reserved_units += o.reserved_units;
    committed_units += o.committed_units;
    carts_holding += o.carts_holding;
    for (size_t i = 0; i < orders_by_status.size(); ++i) orders_by_status[i] += o.orders_by_status[i];
    return *this;
  }
};

class shard {
 public:
  using peers = std::vector<mailbox<message>*>;

  shard(uint32_t index, const router& routes, const clock& time, shard_config config,
        std::unique_ptr<effect_log> log = std::make_unique<memory_effect_log>());
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  // REQUIRES: called once before run(); `all` outlives the shard, indexed by shard number.
  void connect(const peers* all) {
    peers_ = all;
    outbox_.resize(all->size());
    for (auto* box : *all) tokens_.push_back(box->make_producer_token());
  }
  // The thread body: runs until stop(). Any thread may call stop().
  void run();
  void stop();

  // Any thread.
  void post(message&& m) { mailbox_.post(std::move(m)); }
  mailbox<message>& inbox() { return mailbox_; }
  boost::asio::io_context& io() { return io_; }
  uint32_t index() const { return index_; }
  // The shard whose thread is calling, or nullptr on any other thread.
  static shard* current();

  // ---- Shard-local from here on. ----

  // Catalog (product shard).
  void create_product(product_create c, reply<product_view> done);
  void patch_product(std::string id, product_patch p, reply<product_view> done);
  void adjust_stock(std::string id, int64_t delta, reply<product_view> done);
  void deactivate_product(std::string id, reply<product_view> done);
  result<product_view> get_product(std::string_view id, bool include_inactive) const;
  std::vector<product_view> list_products(std::string_view after, size_t limit,
                                          std::string_view query, bool include_inactive) const;

  // Shipping methods (every shard keeps a copy).
  const std::vector<shipping_method>& shipping_methods() const { return shipping_; }
  void replace_shipping_methods(std::vector<shipping_method> methods);

  // Cart (user shard).
  void get_cart(const std::string& user_id, reply<cart_view> done);
  void add_item(const std::string& user_id, std::string product_id, int64_t quantity,
                std::optional<std::string> idempotency_key, reply<idempotent<cart_view>> done);
  void set_item(const std::string& user_id, std::string product_id, int64_t quantity,
                reply<cart_view> done);
  void remove_item(const std::string& user_id, std::string product_id, reply<cart_view> done);
  void clear_cart(const std::string& user_id, reply<cart_view> done);

  // Addresses (user shard).
  void list_addresses(const std::string& user_id, reply<std::vector<address>> done);
  void add_address(const std::string& user_id, address a, reply<address> done);
  void delete_address(const std::string& user_id, std::string address_id, reply<ok_t> done);

  // Checkout and orders (user shard).
  void preview(const std::string& user_id, checkout_request req, reply<checkout_summary> done);
  void place_order(const std::string& user_id, checkout_request req,
                   std::optional<std::string> idempotency_key, reply<idempotent<order>> done);
  void list_orders(const std::string& user_id, std::string_view cursor, size_t limit,
                   reply<page<order>> done);
  // `requester` empty with `as_admin`: an admin; otherwise only the owner sees the order.
  void get_order(std::string order_id, std::string requester, bool as_admin,
                 reply<order> done);
  void cancel_order(std::string order_id, std::string requester, bool as_admin,
                    reply<order> done);
  void set_order_status(std::string order_id, order_status to,
                        std::optional<std::string> tracking_number, reply<order> done);
  // Checks the order and the key, charges through the gateway, records the outcome.
  void pay_order(std::string order_id, std::string requester, payment_request req,
                 std::optional<std::string> idempotency_key,
                 reply<idempotent<payment_result>> done);
  // The gateway's webhook: settles a payment that required action. A repeat is a no-op.
  void settle_payment(std::string payment_id, payment_status status, std::string reason,
                      reply<ok_t> done);
  void list_notifications(const std::string& user_id, std::string_view cursor, size_t limit,
                          reply<page<notification>> done);
  // This shard's orders, newest first, strictly older than the cursor (created_at_ms, id).
  std::vector<order> orders_before(std::optional<order_status> status,
                                   std::optional<std::pair<int64_t, std::string>> cursor,
                                   size_t limit) const;

  // Runs fn once every record this shard has logged so far is durable (both modes).
  void after_records_durable(absl::AnyInvocable<void()> fn) { when_durable(std::move(fn)); }

  // Durability: the log reports records synced up to lsn (a message from its I/O thread).
  void on_log_synced(uint64_t lsn);

  // Recovery only, before run(): apply a logged effect again, then swap in the real log,
  // then set the counts recomputed from every shard's carts and orders.
  void replay(effect&& e);
  // Recovery only: room for about this many products, users and orders, so that replay does
  // not rehash its way up from empty (node maps: only bucket arrays are allocated).
  void reserve_for_replay(size_t entries);
  void set_log(std::unique_ptr<effect_log> log);
  // Rebuilds this shard's products' reserved and committed from every shard's carts and
  // orders (read-only), with no other thread writing anything. "" or what is wrong.
  std::string rebuild_stock(const std::vector<const shard*>& all);

  // Webhooks: every shard keeps the registrations; each keeps the outbox of its own
  // orders' events (delivered by server/webhook_client.h, on this shard's thread).
  using outbox_key = std::tuple<int64_t, std::string, std::string>;  // (created, event, webhook)
  const std::vector<webhook>& webhooks() const { return webhooks_; }
  void set_webhooks(std::vector<webhook> list);
  const absl::btree_map<outbox_key, outbox_entry>& webhook_outbox() const { return webhook_outbox_; }
  // Bumped whenever an event is queued, so a deliverer knows when to look again.
  uint64_t outbox_arrivals() const { return outbox_arrivals_; }
  uint64_t outbox_dropped() const { return outbox_dropped_; }
  // The receiver acknowledged it, or it was given up on: it leaves the outbox.
  void webhook_done(const outbox_key& key);

  // Live updates (live.h). The sink is set once, on this shard's thread, before any watch.
  void set_live_sink(live_sink* sink) { live_ = sink; }
  // Owner side: connection `ticket` on shard `from` watches `topic` (requester and role
  // decide whether it may); the answer, a snapshot or not_found, goes to `from`'s sink.
  void watch(const std::string& topic, const std::string& requester, bool admin, uint32_t from,
             uint64_t ticket);
  void unwatch(const std::string& topic, uint32_t from);

  // Snapshots: sends `sink` every unit changed since the last snapshot, as it is right after
  // the last record logged before the first unit is taken (copy-on-write: a unit about to
  // change is taken first), a bounded chunk per turn of the loop, then covered(). Waits
  // while a product admin change is logged but not yet applied. Ignored while one runs.
  void begin_snapshot(snapshot_sink* sink);
  // Recovery: what a snapshot loaded has not changed since that snapshot.
  void forget_changes();

  // Timers: lapse holds and cancel unpaid orders whose deadline is <= now.
  void tick();
  void stats_into(store_stats& out) const;
  // Adds this shard's part of the whole-store audit.
  void audit_into(stock_audit& out) const;
  int64_t inbox_depth() const { return mailbox_.depth(); }
  // Stock moves this shard posted to others, and received from others.
  std::pair<uint64_t, uint64_t> move_counts() const { return {moves_sent_, moves_received_}; }
  // Answers and releases still waiting for their records to be durable.
  size_t pending_durable() const { return after_durable_.size() + after_pass_.size(); }

 private:
  struct idempotency_entry {
    uint64_t fingerprint = 0;
    int64_t stored_at_ms = 0;
    std::variant<cart_view, order, payment_result> answer;
  };
  struct user_record {
    std::string id;
    cart basket;
    std::vector<address> addresses;
    std::vector<std::string> order_ids;  // oldest first
    absl::flat_hash_map<std::string, int64_t> ordered_units;  // product -> units, live orders
    std::deque<notification> notifications;                    // oldest first
    absl::flat_hash_map<std::string, idempotency_entry> idempotency;
    // A user's requests run one at a time; the rest wait here. Not state: not logged.
    bool busy = false;
    double request_tokens = limits::user_request_burst;  // the rate limit's bucket
    int64_t tokens_at_ms = 0;
    std::deque<absl::AnyInvocable<void(user_record&, bool admitted)>> waiting;
  };
  using user_op = absl::AnyInvocable<void(user_record&, bool admitted)>;
  using stock_continuation = absl::AnyInvocable<void(std::vector<stock_answer>)>;
  struct pending_stock {
    std::vector<stock_answer> answers;
    std::vector<std::vector<size_t>> positions;  // per request sent: indexes into answers
    size_t remaining = 0;
    stock_continuation then;
  };

  // The loop.
  void drain();
  void end_of_pass();
  void commit_pass();
  // Messages to other shards wait in a per-destination outbox until the end of the pass.
  void send(uint32_t to, message&& m);
  void flush_outbox(uint32_t to);
  void handle(stock_request& m);
  void handle(stock_reply& m);
  void handle(stock_move& m);
  void handle(shard_task& m);
  void apply_move(const stock_move& m);
  void arm_timer();

  // Effects: the only way state changes.
  uint64_t record(effect e);
  void apply(effect&& e);
  void when_durable(absl::AnyInvocable<void()> fn);
  // A client's answer: after durability, or with --durability async at the end of the pass.
  void when_answerable(absl::AnyInvocable<void()> fn);

  // Live updates: to every shard watching the order's topics; availability from tick().
  void publish(std::shared_ptr<const order_event> e);
  void publish_availability();

  // Snapshots.
  struct snapshot_run {
    snapshot_sink* sink = nullptr;
    bool started = false;
    uint64_t lsn = 0;
    // The units changed before the position, taken in turn by a cursor each (erasing from
    // the front of a flat set would rescan its emptied slots: quadratic), and those taken
    // early because they were about to change. Nothing is inserted while a round runs, so
    // the cursors stay valid.
    absl::flat_hash_set<std::string> users, products;
    absl::flat_hash_set<std::string>::const_iterator next_user, next_product;
    absl::flat_hash_set<std::string> taken_early;  // 'p'/'u' + id
    bool shipping = false;
    bool webhooks = false;
    bool outbox = false;
    std::vector<snapshot_unit> chunk;
  };
  void snapshot_step();
  // Marks the unit `e` changes, first taking it for a snapshot that still needs it.
  void note_change(const effect& e);
  snapshot_unit capture(char kind, const std::string& id) const;

  // Users.
  user_record& user(const std::string& user_id);
  // Who a user request comes from: the user (rate-limited and queue-bounded), staff (an
  // admin or the gateway acting on the user's order: queue-bounded), or the engine itself.
  enum class caller : uint8_t { customer, staff, internal };
  void with_user(const std::string& user_id, user_op op, caller who = caller::customer);
  bool take_request_token(user_record& u);
  void finish(user_record& u);
  int64_t units_already(const user_record& u, std::string_view product_id) const;
  void renew_holds(cart& c) const;
  void set_hold_deadline(const std::string& user_id, int64_t old_ms, int64_t new_ms);
  void change_cart_line(user_record& u, std::string product_id, int64_t quantity, bool adding,
                        absl::AnyInvocable<void(result<cart_view>)> done);
  void send_releases(const cart& before, const cart& after);
  void lapse_holds(user_record& u);
  // With an Idempotency-Key: answers from it when it can (the stored answer, a mismatch, or
  // rate_limited when the user holds too many keys) and returns true.
  template <class T>
  bool answered_from_key(const user_record& u, const std::string& scope_key,
                         uint64_t fingerprint, reply<idempotent<T>>& done);
  void store_idempotent(user_record& u, std::string scope_key, uint64_t fingerprint,
                        std::variant<cart_view, order, payment_result> answer);
  void finish_payment(user_record& u, std::string order_id, payment p, charge_outcome outcome,
                      std::string scope, uint64_t fingerprint, bool keyed,
                      reply<idempotent<payment_result>> done);
  checkout_summary summarize(const user_record& u, const address* ship, const address* bill,
                             const shipping_method* method) const;
  std::vector<stock_ask> checkout_asks(const user_record& u, bool take) const;
  std::optional<error> check_checkout_inputs(const user_record& u, const checkout_request& req,
                                             const address** ship, const address** bill,
                                             const shipping_method** method) const;

  // Orders.
  order* find_order(std::string_view order_id);
  void change_status(user_record& u, order& o, order_status to,
                     std::optional<std::string> tracking_number);
  void notify(user_record& u, const order& o, std::string_view event);
  std::string next_id(std::string_view prefix, std::string_view owner);
  void note_id(std::string_view id, std::string_view prefix);

  // Stock asks, local or by message.
  void ask_stock(std::vector<stock_ask> asks, stock_continuation then);
  void move_stock(stock_move::kind what, const std::string& product_id, int64_t units);

  // Catalog admin changes run one at a time per product, each after the last is durable.
  void with_product_admin(const std::string& product_id,
                          absl::AnyInvocable<void(absl::AnyInvocable<void()> finish)> op);

  // Constant after construction.
  const uint32_t index_;
  const router& routes_;
  const clock& clock_;
  const shard_config config_;
  const peers* peers_ = nullptr;

  // The loop's own state.
  boost::asio::io_context io_;
  mailbox<message> mailbox_;
  std::atomic<bool> sleeping_{false};  // the loop is (about to be) blocked in the reactor
  boost::asio::steady_timer timer_;
  std::vector<message> batch_;
  std::vector<std::vector<message>> outbox_;              // per destination shard
  std::vector<moodycamel::ProducerToken> tokens_;        // ours, per destination mailbox
  std::unique_ptr<effect_log> log_;
  uint64_t last_lsn_ = 0;
  std::deque<std::pair<uint64_t, absl::AnyInvocable<void()>>> after_durable_;
  std::vector<absl::AnyInvocable<void()>> after_pass_;
  uint64_t next_token_ = 1;
  uint64_t moves_sent_ = 0;
  uint64_t moves_received_ = 0;
  uint64_t next_sequence_ = 1;
  absl::flat_hash_map<uint64_t, pending_stock> pending_stock_;

  // Owned state.
  catalog catalog_;
  std::vector<shipping_method> shipping_;
  absl::node_hash_map<std::string, user_record> users_;
  absl::node_hash_map<std::string, order> orders_;
  absl::flat_hash_map<std::string, std::string> payment_orders_;  // payment id -> order id
  std::array<int64_t, 7> orders_by_status_{};
  int64_t carts_holding_ = 0;
  absl::btree_set<std::pair<int64_t, std::string>> hold_deadlines_;     // (ms, user)
  absl::btree_set<std::pair<int64_t, std::string>> payment_deadlines_;  // (ms, order)
  absl::btree_set<std::pair<int64_t, std::string>> orders_by_time_;     // (created ms, order)
  absl::btree_set<std::tuple<int64_t, std::string, std::string>> idempotency_by_time_;
  absl::flat_hash_map<std::string, std::deque<absl::AnyInvocable<void()>>> product_admin_queue_;
  // Units changed since the last snapshot took them.
  absl::flat_hash_set<std::string> changed_users_, changed_products_;
  bool changed_shipping_ = false;
  bool changed_webhooks_ = false;
  bool changed_outbox_ = false;
  std::unique_ptr<snapshot_run> snapshot_;
  bool snapshot_turn_due_ = false;  // the loop takes the next chunk after its next batch
  boost::asio::steady_timer snapshot_timer_;
  // Live updates: per topic, how many connections on each shard watch it; per watched
  // product, the availability last published.
  absl::flat_hash_map<std::string, std::vector<uint32_t>> watchers_;
  absl::flat_hash_map<std::string, int64_t> published_available_;
  live_sink* live_ = nullptr;
  std::vector<webhook> webhooks_;
  absl::btree_map<outbox_key, outbox_entry> webhook_outbox_;  // oldest first
  uint64_t outbox_arrivals_ = 0;
  uint64_t outbox_dropped_ = 0;
};

}  // namespace stampede
