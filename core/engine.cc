#include "core/engine.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <future>

#include "core/address_ops.h"
#include "core/cart_ops.h"
#include "core/drop_ops.h"
#include "core/drop_product_ops.h"
#include "core/catalog_ops.h"
#include "core/checkout_ops.h"
#include "core/events.h"
#include "core/limits.h"
#include "core/order_ops.h"
#include "core/payment_ops.h"
#include "core/shard.h"
#include "core/topic.h"

namespace stampede {

namespace {

uint32_t shard_count_for(uint32_t asked) {
  uint32_t n = asked ? asked : std::max(1u, std::thread::hardware_concurrency());
  return std::min<uint32_t>(n, limits::shards_max);
}

size_t page_size(int64_t limit) {
  return static_cast<size_t>(std::clamp(limit, limits::page_limit_min, limits::page_limit_max));
}

error overloaded() {
  return make_error(error_code::overloaded, "the store is busy; retry shortly");
}

error no_order() { return make_error(error_code::not_found, "no such order"); }

// Admin order cursors are "<created_at_ms>:<order id>".
std::optional<std::pair<int64_t, std::string>> parse_order_cursor(const std::string& c) {
  auto colon = c.find(':');
  if (colon == std::string::npos) return std::nullopt;
  int64_t at = 0;
  auto [ptr, ec] = std::from_chars(c.data(), c.data() + colon, at);
  if (ec != std::errc() || ptr != c.data() + colon) return std::nullopt;
  return std::make_pair(at, c.substr(colon + 1));
}

}  // namespace

engine::engine(engine_config config)
    : own_clock_(config.time ? nullptr : std::make_unique<system_clock>()),
      clock_(config.time ? config.time : own_clock_.get()),
      routes_(shard_count_for(config.shards)),
      inbox_admission_max_(config.inbox_admission_max) {
  if (!config.gateway) own_gateway_ = std::make_unique<sandbox_gateway>();
  shard_config sc;
  sc.gateway = config.gateway ? config.gateway : own_gateway_.get();
  sc.hold_ttl_ms = config.hold_ttl_s * 1000;
  sc.payment_ttl_ms = config.payment_ttl_s * 1000;
  sc.run_timer = config.run_timers;
  sc.user_requests_per_s = config.user_requests_per_s;
  sc.answer_before_durable = config.answer_before_durable;
  sc.email = config.email;
  sc.snapshot_units_per_turn = config.snapshot_units_per_turn;
  sc.secret = config.secret;
  sc.writes = config.writes;
  for (uint32_t i = 0; i < routes_.shard_count(); ++i) {
    shards_.push_back(std::make_unique<shard>(i, routes_, *clock_, sc));
    peers_.push_back(&shards_.back()->inbox());
  }
  for (auto& s : shards_) s->connect(&peers_);
}

engine::~engine() { stop(); }

std::string engine::restore(std::vector<recovered_shard> recovered) {
  if (recovered.size() != shards_.size()) return "recovered shard count does not match";
  for (size_t i = 0; i < shards_.size(); ++i)
    if (recovered[i].log) shards_[i]->set_log(std::move(recovered[i].log));
  // Users hold the truth for reserved (their held cart lines) and committed (their live
  // orders); product shards persisted only on_hand and the catalog. Each shard rebuilds its
  // own products from everyone's carts and orders, all shards at once: they only read each
  // other, and each writes only its own catalog.
  std::vector<const shard*> all;
  for (auto& s : shards_) all.push_back(s.get());
  std::vector<std::string> errors(shards_.size());
  std::vector<std::thread> rebuilders;
  for (size_t i = 0; i < shards_.size(); ++i)
    rebuilders.emplace_back([&, i] { errors[i] = shards_[i]->rebuild_stock(all); });
  for (auto& t : rebuilders) t.join();
  for (const auto& e : errors)
    if (!e.empty()) return e;
  return "";
}

void engine::start() {
  for (auto& s : shards_) threads_.emplace_back([&s] { s->run(); });
}

void engine::stop() {
  for (auto& s : shards_) s->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool engine::admitted(uint32_t i) const {
  return shards_[i]->inbox_depth() <= inbox_admission_max_;
}

int64_t engine::inbox_depth(uint32_t i) const { return shards_[i]->inbox_depth(); }

boost::asio::io_context& engine::io(uint32_t i) { return shards_[i]->io(); }

webhook_outbox& engine::webhook_outbox_at(uint32_t i) {
  return shards_[i]->outbox_handle();
}

email_outbox& engine::email_outbox_at(uint32_t i) { return shards_[i]->mail_handle(); }

void engine::set_live_sink(uint32_t i, live_sink* sink) {
  if (threads_.empty()) return shards_[i]->set_live_sink(sink);
  STAMPEDE_CHECK(shard::current() != shards_[i].get());
  std::promise<void> installed;
  shards_[i]->post(shard_task{[sink, &installed](shard& s) {
    s.set_live_sink(sink);
    installed.set_value();
  }});
  installed.get_future().wait();
}

template <class F>
void engine::on_shard(uint32_t i, F&& fn) {
  if (shard::current() == shards_[i].get()) {
    fn(*shards_[i]);
    return;
  }
  shards_[i]->post(shard_task{std::forward<F>(fn)});
}

template <class Op, class Done, class... Args>
void engine::run_on(uint32_t i, admission a, Op op, Done done, Args... args) {
  if (a == admission::read) {
    return on_shard(i, [op, done = std::move(done), ... args = std::move(args)](shard& s) mutable {
      op(s, std::move(args)..., std::move(done));
    });
  }
  shard& target = *shards_[i];
  const int64_t now = steady_now_ns();
  if (!admitted(i) || !target.writes_gate().admit(now)) {
    target.writes_shed_at_gate().fetch_add(1, std::memory_order_relaxed);
    return done(overloaded());
  }
  auto gone = done.gone();
  // Queued even on the caller's own shard, so that this pass's reads go first; runs on
  // the target's thread.
  target.post_write(write_task{
      [&target, op, done = std::move(done), ... args = std::move(args)](bool run) mutable {
        if (!run) return done(overloaded());
        op(target, std::move(args)..., std::move(done));
      },
      now, target.writes_gate().deadline_ns(now), std::move(gone)});
}

template <class Part, class PartFn, class MergeFn>
void engine::scatter(PartFn part, MergeFn merge, bool after_durable) {
  struct state {
    state(size_t n, MergeFn m) : parts(n), remaining(n), merge(std::move(m)) {}
    std::vector<std::optional<Part>> parts;
    std::atomic<size_t> remaining;
    MergeFn merge;
  };
  auto st = std::make_shared<state>(shards_.size(), std::move(merge));
  for (uint32_t i = 0; i < shards_.size(); ++i) {
    on_shard(i, [st, part, i, after_durable](shard& s) mutable {
      st->parts[i] = part(s);
      // The last shard to finish merges; acq_rel makes every part visible to it.
      auto finish = [st] {
        if (st->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::vector<Part> parts;
          for (auto& p : st->parts) parts.push_back(std::move(*p));
          st->merge(std::move(parts));
        }
      };
      if (after_durable) {
        s.when_durable(std::move(finish));
      } else {
        finish();
      }
    });
  }
}

// ---- Catalog ----

void engine::create_product(product_create c, reply<product_view> done) {
  uint32_t i = routes_.product_shard(c.id);
  run_on(i, admission::write, &catalog_ops::create_product, std::move(done), std::move(c));
}

void engine::patch_product(std::string id, product_patch p, reply<product_view> done) {
  uint32_t i = routes_.product_shard(id);
  run_on(i, admission::write, &catalog_ops::patch_product, std::move(done), std::move(id),
         std::move(p));
}

void engine::adjust_stock(std::string id, int64_t delta, reply<product_view> done) {
  uint32_t i = routes_.product_shard(id);
  run_on(i, admission::write, &catalog_ops::adjust_stock, std::move(done), std::move(id), delta);
}

void engine::deactivate_product(std::string id, reply<product_view> done) {
  uint32_t i = routes_.product_shard(id);
  run_on(i, admission::write, &catalog_ops::deactivate_product, std::move(done), std::move(id));
}

void engine::get_product(std::string id, bool admin, reply<product_view> done) {
  uint32_t i = routes_.product_shard(id);
  on_shard(i, [id = std::move(id), admin, done = std::move(done)](shard& s) mutable {
    done(catalog_ops::get_product(s, id, admin));
  });
}

void engine::list_products(std::string cursor, int64_t limit, std::string query, bool admin,
                           reply<page<product_view>> done) {
  size_t n = page_size(limit);
  scatter<std::vector<product_view>>(
      [cursor, n, query, admin](shard& s) {
        return catalog_ops::list_products(s, cursor, n + 1, query, admin);
      },
      [n, done = std::move(done)](std::vector<std::vector<product_view>> parts) mutable {
        page<product_view> out;
        for (auto& part : parts)
          for (auto& p : part) out.items.push_back(std::move(p));
        std::sort(out.items.begin(), out.items.end(),
                  [](const product_view& a, const product_view& b) { return a.id < b.id; });
        if (out.items.size() > n) {
          out.items.resize(n);
          out.next_cursor = out.items.back().id;
        }
        done(std::move(out));
      });
}

// ---- Shipping ----

void engine::shipping_methods(reply<std::vector<shipping_method>> done) {
  on_shard(0, [done = std::move(done)](shard& s) mutable { done(s.shipping_methods()); });
}

bool engine::writes_refused(int64_t now_ns) const {
  for (uint32_t i = 0; i < shards_.size(); ++i)
    if (admitted(i) && shards_[i]->writes_gate().admit(now_ns)) return false;
  return true;
}

void engine::count_shed(uint32_t shard) {
  shards_[shard]->writes_shed_at_gate().fetch_add(1, std::memory_order_relaxed);
}

bool engine::all_admitted() const {
  for (uint32_t i = 0; i < shards_.size(); ++i)
    if (!admitted(i)) return false;
  return true;
}

void engine::replace_shipping_methods(std::vector<shipping_method> methods,
                                      reply<std::vector<shipping_method>> done) {
  if (auto e = validate(methods)) return done(std::move(*e));
  if (!all_admitted()) return done(overloaded());
  scatter<ok_t>(
      [methods](shard& s) {
        catalog_ops::replace_shipping_methods(s, methods);
        return ok_t{};
      },
      [methods, done = std::move(done)](std::vector<ok_t>) mutable { done(methods); },
      /*after_durable=*/true);
}

// ---- Webhooks ----

void engine::add_webhook(webhook w, reply<webhook> done) {
  if (auto e = validate(w)) return done(std::move(*e));
  if (!all_admitted()) return done(overloaded());
  static std::atomic<uint64_t> counter{0};
  char id[32];
  std::snprintf(id, sizeof id, "whk_%016llx",
                static_cast<unsigned long long>(stable_hash(std::to_string(clock_->now_ms()) + "/" +
                                                            std::to_string(++counter) + "/" + w.url)));
  w.id = id;
  w.created_at_ms = clock_->now_ms();
  // Every shard holds the same list, so every shard refuses alike when it is full.
  scatter<std::optional<error>>(
      [w](shard& s) -> std::optional<error> {
        const auto& now = s.webhooks().registrations();
        if (now.size() >= limits::webhooks_max)
          return make_error(error_code::invalid_request,
                            "at most " + std::to_string(limits::webhooks_max) + " webhooks");
        auto list = now;
        list.push_back(w);
        events::replace_webhooks(s, std::move(list));
        return std::nullopt;
      },
      [w, done = std::move(done)](std::vector<std::optional<error>> parts) mutable {
        for (auto& p : parts)
          if (p) return done(std::move(*p));
        done(w);
      },
      /*after_durable=*/true);
}

void engine::remove_webhook(std::string id, reply<ok_t> done) {
  if (!all_admitted()) return done(overloaded());
  scatter<bool>(
      [id](shard& s) {
        auto list = s.webhooks().registrations();
        auto n = std::erase_if(list, [&](const webhook& w) { return w.id == id; });
        if (n > 0) events::replace_webhooks(s, std::move(list));
        return n > 0;
      },
      [done = std::move(done)](std::vector<bool> found) mutable {
        if (found.empty() || !found[0]) return done(make_error(error_code::not_found, "no such webhook"));
        done(ok_t{});
      },
      /*after_durable=*/true);
}

void engine::list_webhooks(reply<std::vector<webhook>> done) {
  on_shard(0, [done = std::move(done)](shard& s) mutable { done(s.webhooks().registrations()); });
}

// ---- Cart ----

void engine::get_cart(std::string user_id, reply<cart_view> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::read, &cart_ops::get_cart, std::move(done), std::move(user_id));
}

void engine::add_item(std::string user_id, std::string product_id, int64_t quantity,
                      std::optional<std::string> idempotency_key,
                      reply<idempotent<cart_view>> done, std::optional<std::string> admission) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &cart_ops::add_item, std::move(done), std::move(user_id),
         std::move(product_id), quantity, std::move(idempotency_key), std::move(admission));
}

void engine::set_item(std::string user_id, std::string product_id, int64_t quantity,
                      reply<cart_view> done, std::optional<std::string> admission) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &cart_ops::set_item, std::move(done), std::move(user_id),
         std::move(product_id), quantity, std::move(admission));
}

void engine::remove_item(std::string user_id, std::string product_id, reply<cart_view> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &cart_ops::remove_item, std::move(done), std::move(user_id),
         std::move(product_id));
}

void engine::clear_cart(std::string user_id, reply<cart_view> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &cart_ops::clear_cart, std::move(done), std::move(user_id));
}

// ---- Addresses ----

void engine::list_addresses(std::string user_id, reply<std::vector<address>> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::read, &address_ops::list_addresses, std::move(done), std::move(user_id));
}

void engine::add_address(std::string user_id, address a, reply<address> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &address_ops::add_address, std::move(done), std::move(user_id),
         std::move(a));
}

void engine::delete_address(std::string user_id, std::string address_id, reply<ok_t> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &address_ops::delete_address, std::move(done), std::move(user_id),
         std::move(address_id));
}

// ---- Checkout and orders ----

void engine::preview(std::string user_id, checkout_request req, reply<checkout_summary> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::read, &checkout_ops::preview, std::move(done), std::move(user_id),
         std::move(req));
}

void engine::place_order(std::string user_id, checkout_request req,
                         std::optional<std::string> idempotency_key,
                         reply<idempotent<order>> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::write, &checkout_ops::place_order, std::move(done), std::move(user_id),
         std::move(req), std::move(idempotency_key));
}

void engine::list_orders(std::string user_id, std::string cursor, int64_t limit,
                         reply<page<order>> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::read, &order_ops::list_orders, std::move(done), std::move(user_id),
         std::move(cursor), page_size(limit));
}

void engine::get_order(std::string order_id, std::string requester, bool as_admin,
                       reply<order> done) {
  auto i = routes_.owned_id_shard(order_id, "ord_");
  if (!i) return done(no_order());
  run_on(*i, admission::read, &order_ops::get_order, std::move(done), std::move(order_id),
         std::move(requester), as_admin);
}

void engine::cancel_order(std::string order_id, std::string requester, bool as_admin,
                          reply<order> done) {
  auto i = routes_.owned_id_shard(order_id, "ord_");
  if (!i) return done(no_order());
  run_on(*i, admission::write, &order_ops::cancel_order, std::move(done), std::move(order_id),
         std::move(requester), as_admin);
}

void engine::set_order_status(std::string order_id, order_status to,
                              std::optional<std::string> tracking_number, reply<order> done) {
  auto i = routes_.owned_id_shard(order_id, "ord_");
  if (!i) return done(no_order());
  run_on(*i, admission::write, &order_ops::set_order_status, std::move(done),
         std::move(order_id), to, std::move(tracking_number));
}

void engine::pay_order(std::string order_id, std::string requester, payment_request req,
                       std::optional<std::string> idempotency_key,
                       reply<idempotent<payment_result>> done) {
  auto i = routes_.owned_id_shard(order_id, "ord_");
  if (!i) return done(no_order());
  run_on(*i, admission::write, &payment_ops::pay_order, std::move(done), std::move(order_id),
         std::move(requester), std::move(req), std::move(idempotency_key));
}

void engine::settle_payment(std::string payment_id, payment_status status, std::string reason,
                            reply<ok_t> done) {
  auto i = routes_.owned_id_shard(payment_id, "pay_");
  if (!i) return done(make_error(error_code::not_found, "no such payment"));
  run_on(*i, admission::write, &payment_ops::settle_payment, std::move(done),
         std::move(payment_id), status, std::move(reason));
}

void engine::admin_list_orders(std::optional<order_status> status, std::string cursor,
                               int64_t limit, reply<page<order>> done) {
  std::optional<std::pair<int64_t, std::string>> after;
  if (!cursor.empty()) {
    after = parse_order_cursor(cursor);
    if (!after) {
      error_details d;
      d.field = "cursor";
      return done(make_error(error_code::invalid_request, "malformed cursor", std::move(d)));
    }
  }
  size_t n = page_size(limit);
  scatter<std::vector<order>>(
      [status, after, n](shard& s) { return order_ops::orders_before(s, status, after, n + 1); },
      [n, done = std::move(done)](std::vector<std::vector<order>> parts) mutable {
        page<order> out;
        for (auto& part : parts)
          for (auto& o : part) out.items.push_back(std::move(o));
        std::sort(out.items.begin(), out.items.end(), [](const order& a, const order& b) {
          return std::tie(a.created_at_ms, a.id) > std::tie(b.created_at_ms, b.id);
        });
        if (out.items.size() > n) {
          out.items.resize(n);
          const order& last = out.items.back();
          out.next_cursor = std::to_string(last.created_at_ms) + ":" + last.id;
        }
        done(std::move(out));
      });
}

void engine::list_notifications(std::string user_id, std::string cursor, int64_t limit,
                                reply<page<notification>> done) {
  uint32_t i = routes_.user_shard(user_id);
  run_on(i, admission::read, &order_ops::list_notifications, std::move(done), std::move(user_id),
         std::move(cursor), page_size(limit));
}

// ---- Timers and audit ----

// ---- Drops ----

void engine::create_drop(drop_definition d, reply<drop_view> done) {
  uint32_t i = routes_.drop_shard(d.id);
  run_on(i, admission::write, &drop_ops::create_drop, std::move(done), std::move(d));
}

void engine::get_drop(std::string drop_id, reply<drop_view> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::read, &drop_ops::get_drop, std::move(done), std::move(drop_id));
}

void engine::command_drop(std::string drop_id, drop_command what, reply<drop_view> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::write, &drop_ops::command, std::move(done), std::move(drop_id), what);
}

void engine::join_queue(std::string drop_id, std::string user_id,
                        reply<created<ticket_view>> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::write, &drop_ops::join_queue, std::move(done), std::move(drop_id),
         std::move(user_id));
}

void engine::get_ticket(std::string drop_id, std::string user_id, reply<ticket_view> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::read, &drop_ops::get_ticket, std::move(done), std::move(drop_id),
         std::move(user_id));
}

void engine::leave_queue(std::string drop_id, std::string user_id, reply<ok_t> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::write, &drop_ops::leave_queue, std::move(done), std::move(drop_id),
         std::move(user_id));
}

void engine::enter_draw(std::string drop_id, std::string user_id,
                        reply<created<entry_view>> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::write, &drop_ops::enter_draw, std::move(done), std::move(drop_id),
         std::move(user_id));
}

void engine::get_entry(std::string drop_id, std::string user_id, reply<entry_view> done) {
  uint32_t i = routes_.drop_shard(drop_id);
  run_on(i, admission::read, &drop_ops::get_entry, std::move(done), std::move(drop_id),
         std::move(user_id));
}

void engine::join_waitlist(std::string product_id, std::string user_id, int64_t quantity,
                           reply<created<waitlist_place>> done) {
  uint32_t i = routes_.product_shard(product_id);
  run_on(i, admission::write, &drop_product_ops::join_waitlist, std::move(done),
         std::move(product_id), std::move(user_id), quantity);
}

void engine::waitlist_place_of(std::string product_id, std::string user_id,
                               reply<waitlist_place> done) {
  uint32_t i = routes_.product_shard(product_id);
  run_on(i, admission::read, &drop_product_ops::waitlist_place_of, std::move(done),
         std::move(product_id), std::move(user_id));
}

void engine::leave_waitlist(std::string product_id, std::string user_id, reply<ok_t> done) {
  uint32_t i = routes_.product_shard(product_id);
  run_on(i, admission::write, &drop_product_ops::leave_waitlist, std::move(done),
         std::move(product_id), std::move(user_id));
}

void engine::tick_all(reply<ok_t> done) {
  scatter<ok_t>(
      [](shard& s) {
        s.tick();
        return ok_t{};
      },
      [done = std::move(done)](std::vector<ok_t>) mutable { done(ok_t{}); });
}

void engine::quiesce(reply<ok_t> done) { quiesce_round(std::move(done), std::nullopt); }

void engine::quiesce_round(reply<ok_t> done, std::optional<quiet_counts> before) {
  // Stock moves are fire-and-forget, and each shard is read at its own instant, so one
  // round is not a snapshot: a move sent after its sender was read and received before
  // its receiver was can hide another still in flight. Hence two rounds, the second begun
  // after the first has ended: each shard's counts are monotonic, so if none changed
  // between its two readings, all held still at the instant between the rounds, and a cut
  // there with as many moves received as sent has none in flight. Nothing may be under way
  // either (shard::under_way: durability, answers, users' turns, queued writes), since
  // that can move stock later without any new request. Meaningful once clients are done.
  scatter<quiet_counts>(
      [](shard& s) {
        auto [sent, received] = s.exchange().move_counts();
        return quiet_counts{sent, received, s.under_way()};
      },
      [this, done = std::move(done), before](std::vector<quiet_counts> parts) mutable {
        quiet_counts all{0, 0, 0};
        for (const auto& p : parts) {
          all.sent += p.sent;
          all.received += p.received;
          all.under_way += p.under_way;
        }
        bool quiet = all.sent == all.received && all.under_way == 0;
        if (quiet && before && before->sent == all.sent && before->received == all.received)
          return done(ok_t{});
        quiesce_round(std::move(done), quiet ? std::optional<quiet_counts>(all) : std::nullopt);
      });
}

void engine::stats(reply<store_stats> done) {
  scatter<store_stats>(
      [](shard& s) {
        store_stats part;
        s.stats_into(part);
        return part;
      },
      [done = std::move(done)](std::vector<store_stats> parts) mutable {
        store_stats all;
        for (const auto& p : parts) all += p;
        done(std::move(all));
      });
}

void engine::audit(reply<stock_audit> done) {
  scatter<stock_audit>(
      [](shard& s) {
        stock_audit part;
        s.audit_into(part);
        return part;
      },
      [done = std::move(done)](std::vector<stock_audit> parts) mutable {
        stock_audit all;
        for (const auto& part : parts)
          for (const auto& [id, line] : part) all[id] += line;
        done(std::move(all));
      });
}

// ---------------------------------------------------------------------------------------
// Live updates

std::vector<uint32_t> engine::topic_owners(std::string_view key) const {
  auto t = parse_topic_key(key);
  if (!t) return {};
  switch (t->kind) {
    case topic_kind::product:
      return {routes_.product_shard(t->id)};
    case topic_kind::queue:
      return {routes_.drop_shard(t->id)};
    case topic_kind::orders:
      return {routes_.user_shard(t->user)};
    case topic_kind::order:
      if (auto owner = routes_.owned_id_shard(t->id, "ord_")) return {*owner};
      return {};
    case topic_kind::admin_orders:
    case topic_kind::admin_stats: {
      std::vector<uint32_t> all(shard_count());
      for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
      return all;
    }
  }
  return {};
}

void engine::watch(const std::string& topic, const std::string& requester, bool admin,
                   uint32_t from, uint64_t ticket) {
  for (uint32_t owner : topic_owners(topic)) {
    on_shard(owner, [topic, requester, admin, from, ticket](shard& s) {
      events::watch(s, topic, requester, admin, from, ticket);
    });
  }
}

void engine::unwatch(const std::string& topic, uint32_t from) {
  for (uint32_t owner : topic_owners(topic))
    on_shard(owner, [topic, from](shard& s) { events::unwatch(s, topic, from); });
}

}  // namespace stampede
