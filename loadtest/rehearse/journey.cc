#include "loadtest/rehearse/journey.h"

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <sys/resource.h>

#include "loadtest/rehearse/ws_client.h"
#include "server/auth.h"
#include "server/rfc3339.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

constexpr const char* good_card = "4242424242424242";
constexpr const char* declined_card = "4000000000000002";  // the sandbox's card_declined
// A shopper who abandons does so at one of these points, chosen evenly.
constexpr int abandon_points = 4;  // after browsing, with a cart, at the preview, unpaid order

std::optional<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::string string_at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::object* at = &o;
  std::string_view last;
  for (auto it = path.begin(); it != path.end(); ++it) {
    if (std::next(it) == path.end()) {
      last = *it;
      break;
    }
    auto* v = at->if_contains(*it);
    if (!v || !v->is_object()) return {};
    at = &v->get_object();
  }
  auto* v = at->if_contains(last);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The error code of an answer that is not 2xx, as API.md's error shape gives it.
std::string error_code_of(const http_answer& a) {
  if (auto o = parse_object(a.body)) {
    auto code = string_at(*o, {"error", "code"});
    if (!code.empty()) return code;
  }
  return "http_" + std::to_string(a.status);
}

}  // namespace

const char* step_name(journey_step s) {
  static const char* names[] = {"browse", "queue", "admission", "add",     "address",
                                "preview", "order", "pay",       "webhook", "ticket"};
  return names[static_cast<int>(s)];
}

struct journeys::shopper {
  enum class pay_plan : uint8_t { card, declined_first, paypal };
  uint32_t index = 0;
  std::string user, token;
  pay_plan plan = pay_plan::card;
  int abandon_at = -1;  // 0..abandon_points-1, or -1: does not abandon
  int attempts = 0;     // of the current step
  uint32_t key_serial = 0;
  std::string key;  // Idempotency-Key of the current request (kept across its retries)
  std::string address_id, order_id, payment_id, admission;
  steady::time_point waiting_since;  // in a drop's queue, from the join's answer
  bool queued = false;               // joined; admission is being waited for or settled
  bool polling = false;              // waits by reading its ticket, not on a WebSocket
  int64_t total = 0;
  bool declined_done = false;
  bool ended = false;
  bool in_flight = false;
  std::shared_ptr<ws_client> queue_ws;
};

journeys::journeys(asio::io_context& io, const rehearse_options& o, const sale_setup& s,
                   http_pool& shop, http_pool& gateway, scheduler& sched, run_stats& stats,
                   steady::time_point opening)
    : io_(io),
      o_(o),
      setup_(s),
      shop_(shop),
      gateway_(gateway),
      sched_(sched),
      stats_(stats),
      opening_(opening),
      rng_(static_cast<uint64_t>(o.seed)) {
  for (int i = 0; i < journey_step_count; ++i)
    step_ids_[i] = stats_.step(step_name(static_cast<journey_step>(i)));
  // Every other socket of the run (shoppers' pool, watchers) comes first.
  rlimit files{};
  size_t others = static_cast<size_t>(o.connections + o.watchers) + descriptors_spare;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > others)
    queue_sockets_max_ = static_cast<size_t>(files.rlim_cur) - others;
  mint(static_cast<size_t>(o.shoppers));
}

journeys::~journeys() = default;

bool journeys::finished() const { return counts_.ended() == shoppers_.size(); }

// Every shopper's user, token and choices, before the clock starts.
void journeys::mint(size_t count) {
  shoppers_.resize(count);
  std::uniform_real_distribution<double> u(0, 1);
  int64_t expires_s = unix_now_ms() / 1000 + rehearsal_token_ttl_s;
  for (size_t i = 0; i < count; ++i) {
    shopper& s = shoppers_[i];
    s.index = static_cast<uint32_t>(i);
    s.user = setup_.user_prefix() + std::to_string(i);
    s.token = http::sign_token(o_.jwt_secret, s.user, "customer", expires_s);
    double pay = u(rng_);
    s.plan = pay < o_.declined               ? shopper::pay_plan::declined_first
             : pay < o_.declined + o_.paypal ? shopper::pay_plan::paypal
                                             : shopper::pay_plan::card;
    if (u(rng_) < o_.abandon) s.abandon_at = static_cast<int>(u(rng_) * abandon_points);
  }
}

void journeys::start() {
  size_t n = shoppers_.size();
  for (size_t i = 0; i < n; ++i) {
    auto offset =
        std::chrono::duration<double>(o_.ramp_s * static_cast<double>(i) / static_cast<double>(n));
    auto due = opening_ + std::chrono::duration_cast<steady::duration>(offset);
    sched_.at(due, [this, i](steady::time_point d) {
      ++counts_.arrived;
      begin(shoppers_[i], journey_step::browse, d);
    });
  }
}

void journeys::stop() {
  stopped_ = true;
  sched_.clear();
  for (auto& s : shoppers_) {
    if (s.ended || s.in_flight) continue;
    if (s.queue_ws) {
      s.queue_ws->close();  // its closed handler ends the journey
      continue;
    }
    cut_off(s);
  }
}

steady::duration journeys::think() {
  if (o_.think_ms <= 0) return steady::duration::zero();
  std::exponential_distribution<double> pause(1.0 / o_.think_ms);
  return std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double, std::milli>(pause(rng_)));
}

// A new request (not a retry): a fresh Idempotency-Key for the steps that take one.
void journeys::begin(shopper& s, journey_step st, steady::time_point due) {
  s.attempts = 0;
  if (st == journey_step::add || st == journey_step::order || st == journey_step::pay)
    s.key = setup_.user_prefix() + std::to_string(s.index) + "-" + std::to_string(++s.key_serial);
  send(s, st, due);
}

void journeys::send(shopper& s, journey_step st, steady::time_point due) {
  uint16_t id = step_ids_[static_cast<int>(st)];
  stats_.record_due(id, due);
  s.in_flight = true;
  http_pool& pool = st == journey_step::webhook ? gateway_ : shop_;
  pool.send(due, request_for(s, st),
            [this, &s, st](http_answer&& a) { on_answer(s, st, std::move(a)); });
}

http_request journeys::request_for(shopper& s, journey_step st) {
  const std::string& host = setup_.t.host_header;
  std::string key = s.key.empty() ? "" : "Idempotency-Key: " + s.key + "\r\n";
  std::string address =
      R"({"shipping_address_id":")" + s.address_id + R"(","shipping_method":"standard"})";
  switch (st) {
    case journey_step::browse:
      return {build_request("GET", "/v1/products/" + setup_.product, host, "", "", ""), true};
    case journey_step::queue:
      return {build_request("POST", "/v1/drops/" + setup_.drop + "/queue", host, s.token, "", ""),
              true};
    case journey_step::ticket:
      return {build_request("GET", "/v1/drops/" + setup_.drop + "/queue/me", host, s.token, "", ""),
              true};
    case journey_step::add: {
      std::string admission =
          s.admission.empty() ? "" : "Stampede-Admission: " + s.admission + "\r\n";
      std::string body = R"({"product_id":")" + setup_.product + R"(","quantity":1})";
      return {build_request("POST", "/v1/cart/items", host, s.token, key + admission, body), true};
    }
    case journey_step::address: {
      std::string body =
          R"({"name":"Shopper )" + std::to_string(s.index) + R"(","line1":")" +
          std::to_string(s.index) +
          R"( Rehearsal Street","city":"Springfield","postal_code":"12345","country":"US"})";
      return {build_request("POST", "/v1/addresses", host, s.token, "", body), false};
    }
    case journey_step::preview:
      return {build_request("POST", "/v1/checkout/preview", host, s.token, "", address), true};
    case journey_step::order:
      return {build_request("POST", "/v1/orders", host, s.token, key, address), true};
    case journey_step::pay: {
      std::string body;
      if (s.plan == shopper::pay_plan::paypal) {
        body = R"({"method":"paypal","amount":)" + std::to_string(s.total) + "}";
      } else {
        bool decline = s.plan == shopper::pay_plan::declined_first && !s.declined_done;
        body = R"({"method":"card","amount":)" + std::to_string(s.total) +
               R"(,"card":{"number":")" + (decline ? declined_card : good_card) +
               R"(","exp_month":12,"exp_year":2030,"cvc":"123"}})";
      }
      return {
          build_request("POST", "/v1/orders/" + s.order_id + "/payments", host, s.token, key, body),
          true};
    }
    case journey_step::webhook: {
      std::string body = R"({"payment_id":")" + s.payment_id + R"(","status":"succeeded"})";
      std::string signature =
          "Stampede-Signature: sha256=" + http::hmac_sha256_hex(o_.gateway_secret, body) + "\r\n";
      return {build_request("POST", "/v1/webhooks/payments", host, "", signature, body), true};
    }
    case journey_step::admission:
      break;
  }
  return {};
}

void journeys::on_answer(shopper& s, journey_step st, http_answer&& a) {
  s.in_flight = false;
  uint16_t id = step_ids_[static_cast<int>(st)];
  if (a.failed != failure::none) {
    stats_.record_answer(id, stats_.outcome(failure_name(a.failed)), a.due, a.answered);
    if (a.failed == failure::abandoned) return cut_off(s);
    auto wait =
        std::min<steady::duration>(retry_most, retry_first * (1 << std::min(s.attempts, 8)));
    return retry(s, st, a.answered + wait);
  }
  bool ok = a.status >= 200 && a.status < 300;
  std::string code = ok ? "ok" : error_code_of(a);
  stats_.record_answer(id, stats_.outcome(code), a.due, a.answered);
  if (a.status == 429 || a.status == 503) {
    ++(a.status == 429 ? counts_.retries_rate_limited : counts_.retries_overloaded);
    std::uniform_int_distribution<int64_t> jitter(0, retry_jitter_most.count());
    auto wait = std::chrono::seconds(std::max<int64_t>(a.retry_after_s, 1)) +
                std::chrono::milliseconds(jitter(rng_));
    return retry(s, st, a.answered + wait);
  }
  if (ok) return on_success(s, st, a);
  on_refusal(s, st, a, code);
}

void journeys::on_success(shopper& s, journey_step st, const http_answer& a) {
  auto now = a.answered;
  switch (st) {
    case journey_step::browse:
      if (s.abandon_at == 0) return end(s, ending::abandoned);
      return next(s, setup_.drop.empty() ? journey_step::add : journey_step::queue, now);
    case journey_step::queue:
    case journey_step::ticket:
      return on_ticket(s, a.body, now);
    case journey_step::add:
      return after_add(s, now);
    case journey_step::address:
      if (auto o = parse_object(a.body)) s.address_id = string_at(*o, {"id"});
      return next(s, journey_step::preview, now);
    case journey_step::preview:
      if (s.abandon_at == 2) return end(s, ending::abandoned);
      return next(s, journey_step::order, now);
    case journey_step::order:
      return after_order(s, a.body, now);
    case journey_step::pay:
      return after_payment(s, a.body, now);
    case journey_step::webhook:
      if (auto it = ledger_index_.find(s.order_id); it != ledger_index_.end())
        ledger_[it->second].status = acknowledged_order::expect::paid;
      return end(s, ending::converted);
    case journey_step::admission:
      break;
  }
}

void journeys::on_refusal(shopper& s, journey_step st, const http_answer& a,
                          const std::string& code) {
  if (st == journey_step::add && code == "sale_not_started") {
    // Our clock and the server's disagree by a little: try again at its opening instant.
    steady::time_point at = a.answered + retry_first;
    if (auto o = parse_object(a.body))
      if (auto ms = http::parse_rfc3339_ms(string_at(*o, {"error", "details", "sale_starts_at"})))
        at = std::max(at, opening_ + std::chrono::milliseconds(*ms - setup_.opening_unix_ms));
    return retry(s, st, at);
  }
  if (st == journey_step::add && code == "not_admitted" && !setup_.drop.empty() &&
      s.admission.empty())
    return next(s, journey_step::queue, a.answered);
  if (st == journey_step::pay && code == "payment_failed" &&
      s.plan == shopper::pay_plan::declined_first && !s.declined_done) {
    s.declined_done = true;  // the retry pays with a good card, as a new request
    return next(s, journey_step::pay, a.answered);
  }
  if (code == "sold_out") return queue_sold_out(s, a.answered);  // 410 at the queue's door
  bool turned_away = code == "out_of_stock" || code == "limit_exceeded" ||
                     code == "cart_empty" || code == "not_admitted";
  end(s, turned_away ? ending::turned_away : ending::gave_up);
}

void journeys::after_add(shopper& s, steady::time_point now) {
  if (s.abandon_at == 1) return end(s, ending::abandoned);  // the hold lapses by itself
  next(s, s.address_id.empty() ? journey_step::address : journey_step::preview, now);
}

void journeys::after_order(shopper& s, const std::string& body, steady::time_point now) {
  auto o = parse_object(body);
  if (!o) return end(s, ending::gave_up);
  acknowledged_order ack{string_at(*o, {"id"}), s.user, {}, acknowledged_order::expect::pending};
  if (auto* items = o->if_contains("items"); items && items->is_array())
    for (const auto& it : items->get_array()) {
      if (!it.is_object()) continue;
      auto* q = it.get_object().if_contains("quantity");
      ack.lines.emplace_back(string_at(it.get_object(), {"product_id"}),
                             q && q->is_int64() ? q->get_int64() : 0);
    }
  if (auto* t = o->if_contains("total"); t && t->is_int64()) s.total = t->get_int64();
  s.order_id = ack.id;
  if (!ledger_index_.contains(ack.id)) {  // a replayed answer is the same order
    ledger_index_[ack.id] = ledger_.size();
    ledger_.push_back(std::move(ack));
  }
  if (s.abandon_at == 3) return end(s, ending::abandoned);  // pending until --payment-ttl
  next(s, journey_step::pay, now);
}

void journeys::after_payment(shopper& s, const std::string& body, steady::time_point now) {
  auto o = parse_object(body);
  std::string status = o ? string_at(*o, {"payment", "status"}) : "";
  if (status == "requires_action") {
    s.payment_id = string_at(*o, {"payment", "id"});
    return next(s, journey_step::webhook, now);
  }
  auto it = ledger_index_.find(s.order_id);
  if (it != ledger_index_.end())
    ledger_[it->second].status = status == "succeeded" ? acknowledged_order::expect::paid
                                                       : acknowledged_order::expect::unknown;
  end(s, status == "succeeded" ? ending::converted : ending::gave_up);
}

// The ticket, from joining (the answer's body), from polling, or from the WebSocket
// ({"type": "ticket", "ticket": {...}}, or the subscription's snapshot). Waiting for admission
// is recorded as the step "admission", from the join's answer to the ticket's last state.
void journeys::on_ticket(shopper& s, const std::string& text, steady::time_point now) {
  auto o = parse_object(text);
  if (!o || s.ended || !s.admission.empty()) return;
  const json::object* ticket = &*o;
  for (const char* wrapper : {"ticket", "snapshot"})
    if (auto* t = o->if_contains(wrapper); t && t->is_object()) ticket = &t->get_object();
  std::string state = string_at(*ticket, {"state"});
  if (state.empty()) return;  // not a ticket (a pong, an error)
  if (!s.queued) {
    s.queued = true;
    s.waiting_since = now;
    stats_.record_due(step_ids_[static_cast<int>(journey_step::admission)], now);
    if (state == "waiting") return wait_for_admission(s);
  }
  if (state == "waiting") {
    if (s.polling) poll_ticket(s, now + ticket_poll_interval);
    return;
  }
  admission_settled(s, state, string_at(*ticket, {"admission_token"}), now);
}

void journeys::admission_settled(shopper& s, const std::string& state,
                                 std::string admission_token, steady::time_point now) {
  uint16_t id = step_ids_[static_cast<int>(journey_step::admission)];
  stats_.record_answer(id, stats_.outcome(state == "admitted" ? "ok" : state), s.waiting_since,
                       now);
  if (auto ws = std::move(s.queue_ws)) ws->close();
  if (state == "sold_out") return queue_sold_out(s, now);
  if (state != "admitted") return end(s, ending::turned_away);
  s.admission = std::move(admission_token);
  next(s, journey_step::add, now);
}

// On a WebSocket while the descriptors last; a socket that cannot open, or that the server
// closes while the shopper still waits, leaves it polling.
void journeys::wait_for_admission(shopper& s) {
  if (queue_sockets_ >= queue_sockets_max_) return poll_ticket(s, steady::now());
  ++queue_sockets_;
  std::string subscribe = R"({"op":"subscribe","topic":"queue:)" + setup_.drop + R"("})";
  s.queue_ws = ws_client::open(
      io_, setup_.endpoints, setup_.t, s.token, {subscribe},
      [this, &s](std::string_view text) { on_ticket(s, std::string(text), steady::now()); },
      [this, &s](bool, const std::string&) {
        --queue_sockets_;
        if (s.ended || !s.admission.empty()) return;
        s.queue_ws.reset();  // its own async operation keeps it alive until this returns
        if (stopped_) return cut_off(s);
        poll_ticket(s, steady::now());
      });
}

void journeys::poll_ticket(shopper& s, steady::time_point at) {
  if (!s.polling) ++counts_.queue_polled;
  s.polling = true;
  if (stopped_) return cut_off(s);
  sched_.at(at, [this, &s](steady::time_point due) { begin(s, journey_step::ticket, due); });
}

void journeys::retry(shopper& s, journey_step st, steady::time_point at) {
  if (stopped_) return cut_off(s);
  if (++s.attempts >= attempts_max) {
    // A payment whose outcome is unknown may have gone through.
    if (st == journey_step::pay || st == journey_step::webhook)
      if (auto it = ledger_index_.find(s.order_id); it != ledger_index_.end())
        ledger_[it->second].status = acknowledged_order::expect::unknown;
    return end(s, ending::gave_up);
  }
  sched_.at(at, [this, &s, st](steady::time_point due) { send(s, st, due); });
}

void journeys::next(shopper& s, journey_step st, steady::time_point answered) {
  if (stopped_) return cut_off(s);
  sched_.at(answered + think(), [this, &s, st](steady::time_point due) { begin(s, st, due); });
}

void journeys::queue_sold_out(shopper& s, steady::time_point now) {
  if (!counts_.queue_sold_out_at || now < *counts_.queue_sold_out_at)
    counts_.queue_sold_out_at = now;
  end(s, ending::sold_out);
}

// The deadline came: a shopper still waiting in the queue ends its wait there.
void journeys::cut_off(shopper& s) {
  if (s.ended) return;
  if (s.queued && s.admission.empty())
    stats_.record_answer(step_ids_[static_cast<int>(journey_step::admission)],
                         stats_.outcome("cut"), s.waiting_since, steady::now());
  end(s, ending::cut);
}

void journeys::end(shopper& s, ending e) {
  if (s.ended) return;
  s.ended = true;
  s.queue_ws.reset();
  uint64_t* by_ending[] = {&counts_.converted, &counts_.abandoned, &counts_.turned_away,
                           &counts_.gave_up,   &counts_.cut,       &counts_.sold_out};  // as `ending`
  ++*by_ending[static_cast<int>(e)];
}

}  // namespace stampede::load
