#include "server/stats_publisher.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/json.h"
#include "server/json_text.h"
#include "server/retry.h"
#include "server/rfc3339.h"

namespace stampede::http {

namespace asio = boost::asio;

namespace {

int64_t orders_in(const store_stats& s) {
  int64_t n = 0;
  for (int64_t by_status : s.orders_by_status) n += by_status;
  return n;
}

}  // namespace

std::vector<drop_figures> drops_to_show(const std::vector<stampede::drop_figures>& all) {
  std::vector<const stampede::drop_figures*> shown;
  for (const auto& d : all)
    if (d.state != drop_state::closed) shown.push_back(&d);
  // The live ones first (a sale still selling), then those sold out; by id within each.
  auto live = [](const stampede::drop_figures* d) { return d->state != drop_state::sold_out; };
  std::sort(shown.begin(), shown.end(), [&](const auto* a, const auto* b) {
    return live(a) != live(b) ? live(a) : a->id < b->id;
  });
  if (shown.size() > static_cast<size_t>(stats_drops_max)) shown.resize(stats_drops_max);
  std::vector<drop_figures> out;
  for (const auto* d : shown)
    out.push_back(drop_figures{d->id, std::string(to_string(d->state)), d->waiting, d->admitted});
  return out;
}

std::string stats_message(const stats_figures& f) {
  json::array products;
  for (const auto& p : f.products)
    products.push_back(json::object{{"id", p.id},
                                    {"on_hand", p.on_hand},
                                    {"reserved", p.reserved},
                                    {"committed", p.committed},
                                    {"available", p.available}});
  json::array drops;
  for (const auto& d : f.drops)
    drops.push_back(json::object{
        {"id", d.id}, {"state", d.state}, {"waiting", d.waiting}, {"admitted", d.admitted}});
  return to_json_text(json::object{{"type", "stats"},
                                      {"at", format_rfc3339_ms(f.at_ms)},
                                      {"orders_per_s", f.orders_per_s},
                                      {"add_to_cart_p99_ms", f.add_to_cart_p99_ms},
                                      {"checkout_p99_ms", f.checkout_p99_ms},
                                      {"ws_connections", f.ws_connections},
                                      {"products", std::move(products)},
                                      {"drops", std::move(drops)}});
}

// Everything a tick touches, kept alive by the timer's handler: only `io`'s thread uses it.
struct stats_publisher::state : std::enable_shared_from_this<state> {
  state(engine& eng, metrics& m, asio::io_context& io, publish_fn publish)
      : eng(eng), stats(m), timer(io), publish(std::move(publish)) {}

  engine& eng;
  metrics& stats;
  asio::steady_timer timer;
  publish_fn publish;
  bool stopped = false;
  int64_t orders_before = -1;  // the store's order count at the last tick; -1 before the first
  std::chrono::steady_clock::time_point tick_before{};

  // Arm the timer for the next tick, a period after the last one (no drift).
  void schedule() {
    if (stopped) return;
    timer.expires_at(timer.expiry() + std::chrono::milliseconds(stats_period_ms));
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->tick();
    });
  }

  // Take the latency windows now, then ask the engine for the counts, then publish.
  void tick() {
    auto figures = std::make_shared<stats_figures>();
    figures->add_to_cart_p99_ms = stats.add_to_cart_latency.take().p99_ms;
    figures->checkout_p99_ms = stats.checkout_latency.take().p99_ms;
    figures->ws_connections = std::max<int64_t>(0, stats.ws_connections.load());
    auto now = std::chrono::steady_clock::now();
    double elapsed_s = std::chrono::duration<double>(now - tick_before).count();
    tick_before = now;
    auto exec = timer.get_executor();
    eng.stats(reply<store_stats>(exec, [self = shared_from_this(), figures, elapsed_s](
                                           result<store_stats> s) mutable {
      if (s.ok()) {
        int64_t orders = orders_in(s.value());
        if (self->orders_before >= 0 && elapsed_s > 0)
          figures->orders_per_s = static_cast<double>(orders - self->orders_before) / elapsed_s;
        self->orders_before = orders;
        figures->drops = drops_to_show(s.value().drops);
      }
      self->list_products(std::move(figures));
    }));
    schedule();
  }

  void list_products(std::shared_ptr<stats_figures> figures) {
    eng.list_products("", stats_products_max, "", true,
                      reply<page<product_view>>(timer.get_executor(), [self = shared_from_this(), figures](
                                                                         result<page<product_view>> p) {
                        if (p.ok()) figures->products = std::move(p.value().items);
                        figures->at_ms = wall_ms();
                        if (!self->stopped)
                          self->publish(std::make_shared<const std::string>(stats_message(*figures)));
                      }));
  }
};

stats_publisher::stats_publisher(engine& eng, metrics& m, asio::io_context& io, publish_fn publish)
    : state_(std::make_shared<state>(eng, m, io, std::move(publish))) {}

stats_publisher::~stats_publisher() = default;

void stats_publisher::start() {
  asio::post(state_->timer.get_executor(), [s = state_] {
    s->tick_before = std::chrono::steady_clock::now();
    s->timer.expires_after(std::chrono::milliseconds(stats_period_ms));
    s->timer.async_wait([s](boost::system::error_code ec) {
      if (!ec) s->tick();
    });
  });
}

void stats_publisher::stop() {
  asio::post(state_->timer.get_executor(), [s = state_] {
    s->stopped = true;
    s->timer.cancel();
  });
}

}  // namespace stampede::http
