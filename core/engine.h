// What server/ sees of the store: N shards, each a thread, and an asynchronous call for
// every operation of API.md that does not need HTTP. Each call routes to the shard that
// owns the key (product, user, or the owner named in an order id), runs there, and hands
// its result to the `reply` on the executor the caller named.
//
// Thread-safety: every method may be called from any thread once start() returned.
// Admission control: a client's change waits in its shard's write queue, behind the reads,
// and answers `overloaded` without changing anything when it would wait too long (refused
// at once by the shard's write_gate), reached the front past its deadline, or its client
// left (the reply's watch()); also when the shard's inbox is past
// limits::shard_inbox_admission_max. Reads are never shed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/address.h"
#include "core/cart.h"
#include "core/catalog.h"
#include "core/checkout.h"
#include "core/clock.h"
#include "core/drop.h"
#include "core/effect.h"
#include "core/limits.h"
#include "core/live.h"
#include "core/mailbox.h"
#include "core/message.h"
#include "core/order.h"
#include "core/payments.h"
#include "core/reply.h"
#include "core/router.h"
#include "core/stats.h"
#include "core/webhook.h"

namespace stampede {

class shard;
class webhook_outbox;
class email_outbox;

struct engine_config {
  uint32_t shards = 0;  // 0: one per core
  int64_t hold_ttl_s = limits::hold_ttl_default_s;
  int64_t payment_ttl_s = limits::payment_ttl_default_s;
  const clock* time = nullptr;  // nullptr: the system clock
  bool run_timers = true;       // false: holds and payments lapse only on tick_all()
  payment_gateway* gateway = nullptr;  // nullptr: the built-in sandbox
  int64_t user_requests_per_s = limits::user_requests_per_s_default;  // 0: no rate limit
  int64_t inbox_admission_max = limits::shard_inbox_admission_max;
  std::string data_dir;               // empty: in memory only (tests, the demo)
  bool answer_before_durable = false;  // --durability async
  bool email = false;  // --smtp-url: orders with an address get their notifications as email
  size_t snapshot_units_per_turn = limits::snapshot_units_per_turn;
  // Keys drops' admission tokens and card fingerprints (the server passes its JWT secret).
  std::string secret = "stampede-dev-secret";
  write_gate_config writes;  // admission of client writes by queueing time (core/write_gate.h)
};

// Recovery opens the write-ahead logs; the engine itself knows only effect_log. This is
// the hook persistence/ fills in (engine.cc must not depend on persistence/): it replays
// each shard's effects with shard::replay (core/shard.h; before start(), one thread per
// shard at most), then hands the logs to restore().
struct recovered_shard {
  std::unique_ptr<effect_log> log;
};

class engine {
 public:
  explicit engine(engine_config config);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Before start(), after every shard's effects were replayed: installs each shard's log and
  // rebuilds reserved and committed from every shard's carts and orders. (Deadlines that
  // passed while the store was down take effect at the first timer tick.)
  // Returns "" or what is wrong (counts that break the stock invariant).
  std::string restore(std::vector<recovered_shard> shards);

  // Starts one thread per shard; stop() (or the destructor) ends them.
  void start();
  void stop();

  uint32_t shard_count() const { return routes_.shard_count(); }
  const router& routes() const { return routes_; }

  // For the server. Each shard's io_context runs its connections too (any thread).
  boost::asio::io_context& io(uint32_t i);
  // Installs shard i's live sink on its thread (at once before start()); returns once it
  // is installed. Not from shard i's own thread.
  void set_live_sink(uint32_t i, live_sink* sink);
  // Shard i's webhook outbox, for its deliverer: shard-local, use it only from handlers
  // running on io(i).
  webhook_outbox& webhook_outbox_at(uint32_t i);
  // Shard i's email outbox, for its deliverer (server/email/deliverer.h): as above.
  email_outbox& email_outbox_at(uint32_t i);
  // For persistence/ (recovery, snapshots) and tests: the shard itself (core/shard.h).
  shard& shard_at(uint32_t i) { return *shards_[i]; }

  // Catalog.
  void create_product(product_create c, reply<product_view> done);
  void patch_product(std::string id, product_patch p, reply<product_view> done);
  void adjust_stock(std::string id, int64_t delta, reply<product_view> done);
  void deactivate_product(std::string id, reply<product_view> done);
  // `admin`: inactive products too, and the stock counts.
  void get_product(std::string id, bool admin, reply<product_view> done);
  // Ordered by id; `cursor` is the last id of the previous page.
  void list_products(std::string cursor, int64_t limit, std::string query, bool admin,
                     reply<page<product_view>> done);

  // Shipping methods.
  void shipping_methods(reply<std::vector<shipping_method>> done);
  void replace_shipping_methods(std::vector<shipping_method> methods,
                                reply<std::vector<shipping_method>> done);

  // Cart.
  void get_cart(std::string user_id, reply<cart_view> done);
  // `admission`: the Stampede-Admission token, for a product in a drop.
  void add_item(std::string user_id, std::string product_id, int64_t quantity,
                std::optional<std::string> idempotency_key, reply<idempotent<cart_view>> done,
                std::optional<std::string> admission = std::nullopt);
  void set_item(std::string user_id, std::string product_id, int64_t quantity,
                reply<cart_view> done, std::optional<std::string> admission = std::nullopt);
  void remove_item(std::string user_id, std::string product_id, reply<cart_view> done);
  void clear_cart(std::string user_id, reply<cart_view> done);

  // Addresses.
  void list_addresses(std::string user_id, reply<std::vector<address>> done);
  void add_address(std::string user_id, address a, reply<address> done);
  void delete_address(std::string user_id, std::string address_id, reply<ok_t> done);

  // Checkout and orders. `requester` is the caller's user id; `as_admin` lets an admin see
  // and change any order.
  void preview(std::string user_id, checkout_request req, reply<checkout_summary> done);
  void place_order(std::string user_id, checkout_request req,
                   std::optional<std::string> idempotency_key, reply<idempotent<order>> done);
  void list_orders(std::string user_id, std::string cursor, int64_t limit,
                   reply<page<order>> done);
  void get_order(std::string order_id, std::string requester, bool as_admin,
                 reply<order> done);
  void cancel_order(std::string order_id, std::string requester, bool as_admin,
                    reply<order> done);
  void set_order_status(std::string order_id, order_status to,
                        std::optional<std::string> tracking_number, reply<order> done);
  void pay_order(std::string order_id, std::string requester, payment_request req,
                 std::optional<std::string> idempotency_key,
                 reply<idempotent<payment_result>> done);
  void settle_payment(std::string payment_id, payment_status status, std::string reason,
                      reply<ok_t> done);
  // Every order, newest first; `cursor` is the previous page's next_cursor.
  void admin_list_orders(std::optional<order_status> status, std::string cursor,
                         int64_t limit, reply<page<order>> done);
  void list_notifications(std::string user_id, std::string cursor, int64_t limit,
                          reply<page<notification>> done);

  // Drops (API.md, "Drops"): on the drop's shard, except waitlists (the product's).
  void create_drop(drop_definition d, reply<drop_view> done);
  // The view with the admin's counts; the public route shows part of it.
  void get_drop(std::string drop_id, reply<drop_view> done);
  void command_drop(std::string drop_id, drop_command what, reply<drop_view> done);
  void join_queue(std::string drop_id, std::string user_id, reply<created<ticket_view>> done);
  void get_ticket(std::string drop_id, std::string user_id, reply<ticket_view> done);
  void leave_queue(std::string drop_id, std::string user_id, reply<ok_t> done);
  void enter_draw(std::string drop_id, std::string user_id, reply<created<entry_view>> done);
  void get_entry(std::string drop_id, std::string user_id, reply<entry_view> done);
  void join_waitlist(std::string product_id, std::string user_id, int64_t quantity,
                     reply<created<waitlist_place>> done);
  void waitlist_place_of(std::string product_id, std::string user_id, reply<waitlist_place> done);
  void leave_waitlist(std::string product_id, std::string user_id, reply<ok_t> done);

  // Every shard runs its timers now (holds, payments, idempotency keys); answers when all
  // have, with what they freed perhaps still on its way (quiesce waits for that). With the
  // periodic timers off this is how tests move the engine through time.
  void tick_all(reply<ok_t> done);
  // Answers once every stock move (release, commit, uncommit) sent between shards has been
  // applied and nothing is under way that could send another: no record waiting to be
  // durable, no stock question unanswered, no user's turn taken. Meaningful when no
  // client request is running (one that is keeps it from answering until it ends).
  void quiesce(reply<ok_t> done);
  // Webhooks (every shard keeps the registrations). add_webhook assigns the id and time.
  void add_webhook(webhook w, reply<webhook> done);
  void remove_webhook(std::string id, reply<ok_t> done);
  void list_webhooks(reply<std::vector<webhook>> done);

  // Live updates (live.h), called on shard `from`'s thread by its WebSocket hub. The
  // shards that own a topic: one, or every shard for admin:orders; empty when the topic
  // names nothing (a malformed order id). Each owner answers watch() on `from`'s sink.
  std::vector<uint32_t> topic_owners(std::string_view topic) const;
  void watch(const std::string& topic, const std::string& requester, bool admin, uint32_t from,
             uint64_t ticket);
  void unwatch(const std::string& topic, uint32_t from);

  // The /metrics gauges of every shard, summed.
  void stats(reply<store_stats> done);
  // The whole store's stock accounting, each shard read on its own thread.
  void audit(reply<stock_audit> done);
  int64_t inbox_depth(uint32_t shard) const;
  // Any thread: whether a client write would be refused at once on every shard (each one's
  // write gate or inbox bound), so the transport may refuse one before it authenticates or
  // parses it: shedding then costs little more than reading the request. Such a refusal is
  // counted with count_shed(the caller's shard).
  bool writes_refused(int64_t now_ns) const;
  void count_shed(uint32_t shard);

 private:
  // Whether a call is shed when its shard is past the admission bound (a change), or
  // always runs (a read).
  enum class admission : uint8_t { write, read };
  // Runs fn(shard&) on shard i's thread: at once when the caller is that thread (a request
  // whose state lives on its connection's own shard), else as a message.
  template <class F>
  void on_shard(uint32_t i, F&& fn);
  // Runs op(shard, args..., done) on shard i: a read at once (or as a message), a write
  // through the shard's write queue; a write the gate refuses answers `overloaded` at once.
  template <class Op, class Done, class... Args>
  void run_on(uint32_t i, admission a, Op op, Done done, Args... args);
  bool admitted(uint32_t i) const;
  bool all_admitted() const;
  // Runs part(shard&) on every shard and merge(parts) on the last one to finish; with
  // `after_durable`, a shard's part counts once what it recorded is durable.
  template <class Part, class PartFn, class MergeFn>
  void scatter(PartFn part, MergeFn merge, bool after_durable = false);
  // quiesce(): one round of readings, and the previous one if it found all quiet.
  struct quiet_counts {
    uint64_t sent, received, under_way;
  };
  void quiesce_round(reply<ok_t> done, std::optional<quiet_counts> before);

  std::unique_ptr<system_clock> own_clock_;
  std::unique_ptr<payment_gateway> own_gateway_;
  const clock* clock_;
  router routes_;
  const int64_t inbox_admission_max_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::vector<mailbox<message>*> peers_;  // each shard's inbox, by shard number
  std::vector<std::thread> threads_;
};

}  // namespace stampede
