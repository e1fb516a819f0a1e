// A running engine on a manual clock, with blocking wrappers so tests read as sentences.
// The engine answers on a one-thread pool; the test thread waits for each answer.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/shard.h"

namespace stampede::testing {

class engine_fixture {
 public:
  // `make_log`: each shard's effect_log (default: in memory, never refusing); `gateway`:
  // the payment gateway, which must outlive the fixture (default: the built-in sandbox).
  explicit engine_fixture(uint32_t shards = 4, int64_t hold_ttl_s = 600,
                          int64_t payment_ttl_s = 900,
                          std::function<std::unique_ptr<effect_log>()> make_log = nullptr,
                          payment_gateway* gateway = nullptr)
      : engine_(config(shards, hold_ttl_s, payment_ttl_s, &clock_, gateway)) {
    if (make_log) {
      std::vector<recovered_shard> logs(shards);
      for (auto& l : logs) l.log = make_log();
      EXPECT_EQ(engine_.restore(std::move(logs)), "");
    }
    engine_.start();
  }
  // The engine these tests drive. Writes are not shed by queueing time: these tests check
  // counts and answers, and on a loaded machine a shard thread kept off its core past the
  // write deadline (100 ms) refuses a write `overloaded` (the likely cause of one failed
  // address write in Orders.AUsersOrdersAreListedNewestFirstInPages at load 6, where no
  // other refusal fits). Admission has its own tests (WriteGate, WriteQueue, Overload),
  // with engines of their own.
  static engine_config config(uint32_t shards, int64_t hold_ttl_s, int64_t payment_ttl_s,
                              const clock* time, payment_gateway* gateway) {
    engine_config c{shards, hold_ttl_s, payment_ttl_s, time, false, gateway};
    constexpr int64_t hour_ns = 3'600'000'000'000;
    c.writes = write_gate_config{hour_ns, hour_ns};
    return c;
  }
  ~engine_fixture() {
    engine_.stop();
    pool_.join();
  }

  // Calls f(reply<T>) and returns the answer to come, without waiting for it.
  template <class T, class F>
  std::future<result<T>> call_later(F&& f) {
    auto p = std::make_shared<std::promise<result<T>>>();
    auto answer = p->get_future();
    f(reply<T>(pool_.get_executor(), [p](result<T> r) { p->set_value(std::move(r)); }));
    return answer;
  }
  // Calls f(reply<T>) and waits for the answer.
  template <class T, class F>
  result<T> call(F&& f) {
    return call_later<T>(std::forward<F>(f)).get();
  }

  result<product_view> create(std::string id, int64_t on_hand, int64_t max_per_user = 0,
                              int64_t price = 1000) {
    product_create c;
    c.id = id;
    c.name = "Product " + id;
    c.price = price;
    c.on_hand = on_hand;
    c.max_per_user = max_per_user;
    return create(std::move(c));
  }
  result<product_view> create(product_create c) {
    return call<product_view>([&](auto done) { engine_.create_product(c, std::move(done)); });
  }
  result<product_view> admin_product(const std::string& id) {
    return call<product_view>([&](auto done) { engine_.get_product(id, true, std::move(done)); });
  }
  result<product_view> product(const std::string& id) {
    return call<product_view>([&](auto done) { engine_.get_product(id, false, std::move(done)); });
  }
  // Available units once every release in flight has landed.
  int64_t available(const std::string& id) {
    settle();
    return admin_product(id)->available;
  }
  result<product_view> patch(const std::string& id, product_patch p) {
    return call<product_view>([&](auto done) { engine_.patch_product(id, p, std::move(done)); });
  }
  result<product_view> adjust(const std::string& id, int64_t delta) {
    return call<product_view>([&](auto done) { engine_.adjust_stock(id, delta, std::move(done)); });
  }
  result<product_view> deactivate(const std::string& id) {
    return call<product_view>([&](auto done) { engine_.deactivate_product(id, std::move(done)); });
  }
  result<page<product_view>> list(std::string cursor, int64_t limit, std::string q = "",
                                  bool admin = false) {
    return call<page<product_view>>([&](auto done) {
      engine_.list_products(cursor, limit, q, admin, std::move(done));
    });
  }

  result<idempotent<cart_view>> add(const std::string& user, const std::string& product,
                                    int64_t quantity,
                                    std::optional<std::string> key = std::nullopt) {
    return call<idempotent<cart_view>>([&](auto done) {
      engine_.add_item(user, product, quantity, key, std::move(done));
    });
  }
  result<cart_view> set(const std::string& user, const std::string& product, int64_t quantity) {
    return call<cart_view>(
        [&](auto done) { engine_.set_item(user, product, quantity, std::move(done)); });
  }
  result<cart_view> remove(const std::string& user, const std::string& product) {
    return call<cart_view>([&](auto done) { engine_.remove_item(user, product, std::move(done)); });
  }
  result<cart_view> clear(const std::string& user) {
    return call<cart_view>([&](auto done) { engine_.clear_cart(user, std::move(done)); });
  }
  result<cart_view> cart_of(const std::string& user) {
    return call<cart_view>([&](auto done) { engine_.get_cart(user, std::move(done)); });
  }

  result<address> add_address(const std::string& user, address a) {
    return call<address>([&](auto done) { engine_.add_address(user, a, std::move(done)); });
  }
  // A valid address for `user`, added; returns its id.
  std::string home(const std::string& user) {
    address a{"", "Ada Lovelace", "1 Analytical Way", "", "London", "", "N1 9GU", "GB", ""};
    auto r = add_address(user, a);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->id : "";
  }
  result<idempotent<order>> place(const std::string& user, checkout_request req,
                                  std::optional<std::string> key = std::nullopt) {
    return call<idempotent<order>>(
        [&](auto done) { engine_.place_order(user, req, key, std::move(done)); });
  }
  // Places an order with a fresh address and standard shipping.
  result<idempotent<order>> checkout(const std::string& user) {
    return place(user, checkout_request{home(user), "", "standard"});
  }
  result<checkout_summary> preview(const std::string& user, checkout_request req) {
    return call<checkout_summary>(
        [&](auto done) { engine_.preview(user, req, std::move(done)); });
  }
  result<order> get_order(const std::string& id, const std::string& requester,
                          bool admin = false) {
    return call<order>(
        [&](auto done) { engine_.get_order(id, requester, admin, std::move(done)); });
  }
  result<order> cancel(const std::string& id, const std::string& requester, bool admin = false) {
    return call<order>(
        [&](auto done) { engine_.cancel_order(id, requester, admin, std::move(done)); });
  }
  result<order> set_status(const std::string& id, order_status to,
                           std::optional<std::string> tracking = std::nullopt) {
    return call<order>(
        [&](auto done) { engine_.set_order_status(id, to, tracking, std::move(done)); });
  }
  // Pays with a sandbox test card (4242...: succeeds, 4000...0002: declined, 4000...3220:
  // requires action) or PayPal when `card` is empty.
  result<idempotent<payment_result>> pay(const std::string& id, const std::string& user,
                                         int64_t amount, std::string card = "4242424242424242",
                                         std::optional<std::string> key = std::nullopt) {
    payment_request r;
    r.method = card.empty() ? "paypal" : "card";
    r.amount = amount;
    r.card = card_details{card, 12, 2030, "123"};
    return call<idempotent<payment_result>>(
        [&](auto done) { engine_.pay_order(id, user, r, key, std::move(done)); });
  }
  result<ok_t> settle(const std::string& payment_id, payment_status status,
                      std::string reason = "") {
    return call<ok_t>([&](auto done) {
      engine_.settle_payment(payment_id, status, reason, std::move(done));
    });
  }
  result<page<order>> orders_of(const std::string& user, std::string cursor = "",
                                int64_t limit = 50) {
    return call<page<order>>(
        [&](auto done) { engine_.list_orders(user, cursor, limit, std::move(done)); });
  }
  result<page<order>> all_orders(std::optional<order_status> status, std::string cursor = "",
                                 int64_t limit = 50) {
    return call<page<order>>([&](auto done) {
      engine_.admin_list_orders(status, cursor, limit, std::move(done));
    });
  }
  result<page<notification>> inbox(const std::string& user) {
    return call<page<notification>>(
        [&](auto done) { engine_.list_notifications(user, "", 50, std::move(done)); });
  }

  // Moves time on and lets every shard act on it; returns once released stock is back.
  void advance_s(int64_t seconds) {
    clock_.advance_ms(seconds * 1000);
    auto r = call<ok_t>([&](auto done) { engine_.tick_all(std::move(done)); });
    ASSERT_TRUE(r.ok());
    settle();
  }
  // Waits until no stock move is in flight between shards.
  void settle() {
    auto r = call<ok_t>([&](auto done) { engine_.quiesce(std::move(done)); });
    ASSERT_TRUE(r.ok());
  }
  // Holds shard i's thread (what it is sent waits in its inbox) until the gate is opened.
  struct held_shard {
    std::promise<void> gate;
    bool open = false;
    void release() {
      if (!std::exchange(open, true)) gate.set_value();
    }
    ~held_shard() { release(); }  // a failed assertion must not leave the shard stuck
  };
  std::unique_ptr<held_shard> hold_shard(uint32_t i) {
    auto held = std::make_unique<held_shard>();
    std::promise<void> holding;
    engine_.shard_at(i).post(shard_task{[open = held->gate.get_future().share(), &holding](shard&) {
      holding.set_value();
      open.wait();
    }});
    holding.get_future().wait();
    return held;
  }
  // Returns once every pass shard i began before the call has ended (so whatever those
  // passes answered has been handed to the pool) and the pool has run those answers.
  void passes_done(uint32_t i) {
    std::promise<void> next_pass;
    engine_.shard_at(i).post(shard_task{[&next_pass](shard& s) {
      // This pass may still hold earlier requests; the next one begins after its end.
      s.post(shard_task{[&next_pass](shard&) { next_pass.set_value(); }});
    }});
    next_pass.get_future().wait();
    std::promise<void> marker;  // one thread: it runs after the answers posted before it
    boost::asio::post(pool_, [&marker] { marker.set_value(); });
    marker.get_future().wait();
  }
  // A user id of shard `user_on`, and so on: tests that need two shards apart name them.
  std::string user_on(uint32_t shard_index, const std::string& prefix = "user") {
    for (int n = 0;; ++n)
      if (engine_.routes().user_shard(prefix + std::to_string(n)) == shard_index)
        return prefix + std::to_string(n);
  }
  std::string product_on(uint32_t shard_index, const std::string& prefix = "sku") {
    for (int n = 0;; ++n)
      if (engine_.routes().product_shard(prefix + std::to_string(n)) == shard_index)
        return prefix + std::to_string(n);
  }
  template <class T>
  static bool ready(std::future<T>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  stock_audit audit() {
    settle();
    auto r = call<stock_audit>([&](auto done) { engine_.audit(std::move(done)); });
    return r.ok() ? r.value() : stock_audit{};
  }

  manual_clock clock_;
  engine engine_;
  boost::asio::thread_pool pool_{1};
};

}  // namespace stampede::testing
