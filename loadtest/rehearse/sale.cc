#include "loadtest/rehearse/sale.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>

#include "loadtest/rehearse/ws_client.h"
#include "server/rfc3339.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

std::optional<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::optional<int64_t> int_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  return std::nullopt;
}

double unix_now_ms_fine() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the progress line calls an error, as opposed to a refusal the sale expects.
bool is_error(const std::string& outcome) {
  return outcome == "overloaded" || outcome == "rate_limited" || outcome.rfind("http_5", 0) == 0 ||
         outcome == failure_name(failure::connect) || outcome == failure_name(failure::closed) ||
         outcome == failure_name(failure::timed_out) || outcome == failure_name(failure::overflow);
}

}  // namespace

sale::sale(const rehearse_options& o, const sale_setup& s)
    : o_(o),
      setup_(s),
      opening_(steady::now() + std::chrono::milliseconds(s.opening_unix_ms - unix_now_ms())),
      stats_(opening_),
      ws_stats_(opening_),
      tick_(io_),
      monitor_timer_(io_) {
  pool_options shop{static_cast<size_t>(o.connections), std::chrono::milliseconds(o.timeout_ms)};
  pool_options side = shop;
  side.connections_max = gateway_connections;
  shop_ = std::make_unique<http_pool>(io_, s.t, shop);
  gateway_ = std::make_unique<http_pool>(io_, s.t, side);
  side.connections_max = 1;
  monitor_ = std::make_unique<http_pool>(io_, s.t, side);
  sched_ = std::make_unique<scheduler>(io_);
  journeys_ = std::make_unique<journeys>(io_, o, s, *shop_, *gateway_, *sched_, stats_, opening_);
  watchers_ = std::make_unique<watcher_set>(
      io_, s, static_cast<size_t>(o.watchers), static_cast<uint64_t>(o.seed),
      [this](const json::object& message) { on_availability(message); });
}

sale::~sale() = default;

void sale::run() {
  report_.watchers = static_cast<uint64_t>(o_.watchers);
  double cpu_at_start = process_cpu_s();
  lag_.start();
  watchers_->open();
  shop_->prewarm(std::min<size_t>(prewarm_connections, static_cast<size_t>(o_.shoppers)));
  journeys_->start();
  sample_stock();
  tick_.expires_after(monitor_period);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
  io_.run();
  cpu_s_ = process_cpu_s() - cpu_at_start;
}

// Each availability a watcher receives is stamped `at` by the server, so the delivery delay
// is now minus `at` (both this machine's clock on a loopback run).
void sale::on_availability(const json::object& o) {
  auto v = int_field(o, "available");
  auto* at = o.if_contains("at");
  if (!v || !at || !at->is_string()) return;
  auto at_ms = http::parse_rfc3339_ms(at->get_string());
  if (!at_ms) return;
  auto now = steady::now();
  double delay_ms = std::max(0.0, unix_now_ms_fine() - static_cast<double>(*at_ms));
  auto delay = std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double, std::milli>(delay_ms));
  ws_stats_.record_answer(ws_stats_.step("ws"), ws_stats_.outcome("ok"), now - delay, now);
  double t_s = static_cast<double>(*at_ms - setup_.opening_unix_ms) / 1000.0;
  if (pushed_.empty() || pushed_.back().first < t_s)
    pushed_.emplace_back(t_s, *v);  // once, not per watcher
  if (*v == 0 && t_s >= 0) saw_sold_out(t_s);
}

void sale::saw_sold_out(double t_s) {
  if (!sold_out_at_s_ || t_s < *sold_out_at_s_) sold_out_at_s_ = t_s;
}

void sale::sample_stock() {
  auto wire = build_request("GET", "/v1/admin/products/" + setup_.product, setup_.t.host_header,
                            setup_.admin_token, "", "");
  monitor_->send(steady::now(), {wire, true}, [this](http_answer&& a) {
    if (a.status == 200)
      if (auto o = parse_object(a.body)) {
        stock_sample s{std::chrono::duration<double>(a.answered - opening_).count(),
                       int_field(*o, "on_hand").value_or(0), int_field(*o, "reserved").value_or(0),
                       int_field(*o, "committed").value_or(0),
                       int_field(*o, "available").value_or(0)};
        stock_.push_back(s);
        if (s.available == 0 && s.t_s >= 0) saw_sold_out(s.t_s);
      }
    if (settling_) return;
    monitor_timer_.expires_after(monitor_period);
    monitor_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !settling_) sample_stock();
    });
  });
}

void sale::on_tick() {
  auto now = steady::now();
  if (++ticks_ % 4 == 0 && !o_.quiet) progress(now);
  bool deadline = now >= opening_ + std::chrono::duration_cast<steady::duration>(
                                        std::chrono::duration<double>(o_.duration_s));
  if (deadline && !journeys_->finished()) journeys_->stop();
  if (journeys_->finished() && now >= opening_) {
    duration_s_ = std::chrono::duration<double>(now - opening_).count();
    settling_ = true;
    monitor_timer_.cancel();
    if (!o_.quiet) progress(now);
    tick_.expires_after(settle);
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) check_watchers(0);
    });
    return;
  }
  tick_.expires_after(monitor_period);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

void sale::progress(steady::time_point now) {
  double t = std::chrono::duration<double>(now - opening_).count();
  const auto& c = journeys_->counts();
  std::string stock = stock_.empty() ? "?" : std::to_string(stock_.back().available);
  std::string held = stock_.empty() ? "?" : std::to_string(stock_.back().reserved);
  if (t < 0) {
    uint64_t open = watchers_->following();
    std::fprintf(stderr,
                 "[%+7.1f s] waiting for the opening; %llu of %lld watchers connected, stock %s\n",
                 t, static_cast<unsigned long long>(open), static_cast<long long>(o_.watchers),
                 stock.c_str());
    return;
  }
  uint64_t due = 0, ok = 0, refused = 0, errors = 0;
  const auto& seconds = stats_.seconds();
  auto index = static_cast<size_t>(std::max(0.0, t - 1));
  if (index < seconds.size()) {
    for (auto d : seconds[index].due) due += d;
    for (size_t step = 0; step < stats_.step_count(); ++step)
      for (uint16_t o = 0; o < stats_.outcome_count(); ++o) {
        uint64_t n = seconds[index].answers[step * run_stats::outcomes_max + o];
        const auto& name = stats_.outcome_name(o);
        (name == "ok" ? ok : is_error(name) ? errors : refused) += n;
      }
  }
  std::fprintf(
      stderr,
      "[%+7.1f s] %6llu req/s  ok %6llu  refused %6llu  errors %5llu  stock left %s (held %s)  "
      "shoppers: %llu arrived, %llu done\n",
      t, static_cast<unsigned long long>(due), static_cast<unsigned long long>(ok),
      static_cast<unsigned long long>(refused), static_cast<unsigned long long>(errors),
      stock.c_str(), held.c_str(), static_cast<unsigned long long>(c.arrived),
      static_cast<unsigned long long>(c.ended()));
}

// The watchers' last values against the server's; a difference may be a change still on its
// way, and a watcher not following may be about to be back, so it is checked again a few
// times before it counts.
void sale::check_watchers(int attempt) {
  auto wire =
      build_request("GET", "/v1/products/" + setup_.product, setup_.t.host_header, "", "", "");
  monitor_->send(steady::now(), {wire, true}, [this, attempt](http_answer&& a) {
    auto o = a.status == 200 ? parse_object(a.body) : std::nullopt;
    auto available = o ? int_field(*o, "available") : std::nullopt;
    report_ = watchers_->compare(available);
    bool again = !available || report_.disagreeing > 0 || watchers_->reconnecting();
    if (o_.watchers > 0 && again && attempt + 1 < rechecks_max) {
      tick_.expires_after(recheck_period);
      tick_.async_wait([this, attempt](const boost::system::error_code& ec) {
        if (!ec) check_watchers(attempt + 1);
      });
      return;
    }
    finish();
  });
}

void sale::finish() {
  watchers_->close();
  shop_->shutdown();
  gateway_->shutdown();
  monitor_->shutdown();
  sched_->clear();
  tick_.cancel();
  monitor_timer_.cancel();
  lag_.stop();
}

}  // namespace stampede::load
