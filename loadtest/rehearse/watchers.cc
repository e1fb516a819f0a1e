#include "loadtest/rehearse/watchers.h"

#include <boost/json.hpp>

#include "loadtest/rehearse/ws_client.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

std::optional<int64_t> int_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  return std::nullopt;
}

}  // namespace

struct watcher_set::watcher {
  explicit watcher(asio::io_context& io) : backoff_timer(io) {}
  std::shared_ptr<ws_client> ws;  // the connection now (or being opened)
  asio::steady_timer backoff_timer;
  std::chrono::milliseconds backoff = reconnect_first;
  bool has_value = false;  // `last` is from this connection's subscription
  bool dropped = false;    // a connection of this watcher has dropped (the next is a return)
  bool followed = false;   // it has had a view, on some connection
  int64_t last = 0;
};

watcher_set::watcher_set(asio::io_context& io, const sale_setup& s, size_t count, uint64_t seed,
                         availability_handler on_availability)
    : io_(io),
      setup_(s),
      subscribe_(R"({"op":"subscribe","topic":"product:)" + s.product + R"("})"),
      on_availability_(std::move(on_availability)),
      rng_(static_cast<std::minstd_rand::result_type>(seed)) {
  watchers_.reserve(count);
  for (size_t i = 0; i < count; ++i) watchers_.push_back(std::make_unique<watcher>(io));
}

watcher_set::~watcher_set() = default;

void watcher_set::open() {
  for (auto& w : watchers_) connect(*w);
}

void watcher_set::connect(watcher& w) {
  w.has_value = false;
  w.ws = ws_client::open(
      io_, setup_.endpoints, setup_.t, "", {subscribe_},
      [this, &w](std::string_view text) { on_message(w, text); },
      [this, &w](bool, const std::string&) { on_closed(w); });
}

// A snapshot on subscribing (a new view), then coalesced availability.
void watcher_set::on_message(watcher& w, std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return;
  const auto& o = v.get_object();
  auto* type = o.if_contains("type");
  if (!type || !type->is_string()) return;
  if (type->get_string() == "subscribed") {
    w.backoff = reconnect_first;
    if (w.dropped) ++reconnections_, w.dropped = false;
    if (auto* snap = o.if_contains("snapshot"); snap && snap->is_object())
      if (auto a = int_field(snap->get_object(), "available"))
        w.last = *a, w.has_value = true, w.followed = true;
    return;
  }
  if (type->get_string() != "product.availability") return;
  auto a = int_field(o, "available");
  if (!a) return;
  w.last = *a;
  w.has_value = w.followed = true;
  ++messages_;
  on_availability_(o);
}

// The connection dropped (or could not open): its view is void; open another after a backoff.
void watcher_set::on_closed(watcher& w) {
  w.has_value = false;
  if (closed_) return;
  w.dropped = true;
  auto wait =
      std::uniform_int_distribution<int64_t>(w.backoff.count() / 2, w.backoff.count())(rng_);
  w.backoff = std::min(w.backoff * 2, reconnect_most);
  w.backoff_timer.expires_after(std::chrono::milliseconds(wait));
  w.backoff_timer.async_wait([this, &w](const boost::system::error_code& ec) {
    if (!ec && !closed_) connect(w);
  });
}

void watcher_set::close() {
  closed_ = true;
  for (auto& w : watchers_) {
    w->backoff_timer.cancel();
    if (w->ws) w->ws->close();
  }
}

uint64_t watcher_set::following() const {
  uint64_t n = 0;
  for (const auto& w : watchers_) n += w->has_value;
  return n;
}

bool watcher_set::reconnecting() const { return following() < watchers_.size(); }

watcher_report watcher_set::compare(std::optional<int64_t> server_available) const {
  watcher_report r;
  r.watchers = watchers_.size();
  r.reconnections = reconnections_;
  r.messages = messages_;
  for (const auto& w : watchers_) {
    if (!w->has_value) {
      ++(w->followed ? r.lost : r.never);
      continue;
    }
    ++r.connected;
    if (!server_available) continue;
    ++r.last_values[w->last];
    if (w->last != *server_available) ++r.disagreeing;
  }
  r.checked = server_available.has_value();
  r.server_available = server_available.value_or(0);
  return r;
}

}  // namespace stampede::load
