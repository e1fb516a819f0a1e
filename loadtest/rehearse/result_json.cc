// The rehearsal's JSON file: API.md's shape ({"config", "steps", "sold_out_at_s", "audit"})
// plus "shoppers", "queue" (null without a drop), "retries", "ws" and "series" for the report
// and --compare.
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "loadtest/rehearse/result.h"
#include "server/json_text.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

json::array numbers(const std::vector<double>& v) { return json::array(v.begin(), v.end()); }

json::object step_json(const step_summary& s) {
  json::object errors;
  for (const auto& [code, n] : s.errors) errors[code] = n;
  return {{"count", s.count},     {"ok", s.ok},         {"errors", std::move(errors)},
          {"p50_ms", s.p50_ms},   {"p90_ms", s.p90_ms}, {"p99_ms", s.p99_ms},
          {"p999_ms", s.p999_ms}, {"max_ms", s.max_ms}};
}

json::object audit_json(const audit_result& a) {
  json::array violations, notes;
  for (const auto& v : a.violations) violations.push_back({{"kind", v.kind}, {"detail", v.detail}});
  for (const auto& n : a.notes) notes.push_back(json::string(n));
  return {{"orders", a.orders},
          {"units_sold", a.units_sold},
          {"violations", violations},
          {"paid_orders", a.paid_orders},
          {"paid_units", a.paid_units},
          {"notes", notes},
          {"other_orders", a.other_orders},
          {"complete", a.complete}};
}

json::value queue_json(const std::optional<queue_summary>& q) {
  if (!q) return nullptr;
  return json::object{{"drop", q->drop},
                      {"joined", q->joined},
                      {"admitted", q->admitted},
                      {"sold_out", q->sold_out},
                      {"expired", q->expired},
                      {"polled", q->polled},
                      {"sold_out_at_s", q->sold_out_at_s ? json::value(*q->sold_out_at_s)
                                                         : json::value(nullptr)},
                      {"wait_to_admission", {{"p50_ms", q->wait_p50_ms},
                                             {"p90_ms", q->wait_p90_ms},
                                             {"p99_ms", q->wait_p99_ms},
                                             {"max_ms", q->wait_max_ms}}}};
}

json::object series_json(const run_series& s) {
  json::array requests, latency, stock, ws;
  for (const auto& r : s.requests) requests.push_back(numbers(r));
  for (const auto& step : s.latency_ms) {
    json::array per_quantile;
    for (const auto& q : step) per_quantile.push_back(numbers(q));
    latency.push_back(std::move(per_quantile));
  }
  for (const auto& p : s.stock)
    stock.push_back(json::array{p.t_s, p.on_hand, p.reserved, p.committed, p.available});
  for (const auto& q : s.ws_delay_ms) ws.push_back(numbers(q));
  json::array pushed;
  for (const auto& [t, v] : s.pushed) pushed.push_back(json::array{t, v});
  json::object answers;
  for (const auto& [outcome, v] : s.answers) answers[outcome] = numbers(v);
  json::array steps;
  for (const auto& n : s.steps) steps.push_back(json::string(n));
  return {{"start_s", s.start_s},  {"steps", steps}, {"requests", requests}, {"answers", answers},
          {"latency_ms", latency}, {"stock", stock}, {"ws_delay_ms", ws},    {"pushed", pushed}};
}

// Readers that take what is there and leave the rest at its default.
double num(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return 0;
}
double num(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return 0;
}
uint64_t count(const json::object& o, std::string_view key) {
  return static_cast<uint64_t>(num(o, key));
}
const json::object& obj(const json::object& o, std::string_view key) {
  static const json::object empty;
  auto* v = o.if_contains(key);
  return v && v->is_object() ? v->get_object() : empty;
}
const json::array& arr(const json::object& o, std::string_view key) {
  static const json::array empty;
  auto* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : empty;
}
std::string text(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::vector<double> number_list(const json::value& v) {
  std::vector<double> out;
  if (v.is_array())
    for (const auto& x : v.get_array()) out.push_back(num(x));
  return out;
}

void read_series(const json::object& o, run_series& s) {
  s.start_s = num(o, "start_s");
  for (const auto& n : arr(o, "steps"))
    if (n.is_string()) s.steps.emplace_back(n.get_string());
  for (const auto& r : arr(o, "requests")) s.requests.push_back(number_list(r));
  for (const auto& [k, v] : obj(o, "answers")) s.answers[std::string(k)] = number_list(v);
  for (const auto& step : arr(o, "latency_ms")) {
    std::vector<std::vector<double>> per_quantile;
    if (step.is_array())
      for (const auto& q : step.get_array()) per_quantile.push_back(number_list(q));
    s.latency_ms.push_back(std::move(per_quantile));
  }
  for (const auto& p : arr(o, "stock")) {
    auto v = number_list(p);
    if (v.size() == 5)
      s.stock.push_back({v[0], static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]),
                         static_cast<int64_t>(v[3]), static_cast<int64_t>(v[4])});
  }
  for (const auto& q : arr(o, "ws_delay_ms")) s.ws_delay_ms.push_back(number_list(q));
  for (const auto& p : arr(o, "pushed")) {
    auto v = number_list(p);
    if (v.size() == 2) s.pushed.emplace_back(v[0], static_cast<int64_t>(v[1]));
  }
}

void read_audit(const json::object& o, audit_result& a) {
  a.orders = count(o, "orders");
  a.units_sold = count(o, "units_sold");
  a.paid_orders = count(o, "paid_orders");
  a.paid_units = count(o, "paid_units");
  a.other_orders = count(o, "other_orders");
  for (const auto& v : arr(o, "violations"))
    if (v.is_object())
      a.violations.push_back({text(v.get_object(), "kind"), text(v.get_object(), "detail")});
  for (const auto& n : arr(o, "notes"))
    if (n.is_string()) a.notes.emplace_back(n.get_string());
  if (auto* c = o.if_contains("complete"); c && c->is_bool()) a.complete = c->get_bool();
}

std::optional<queue_summary> read_queue(const json::object& o) {
  auto* v = o.if_contains("queue");
  if (!v || !v->is_object()) return std::nullopt;
  const auto& q = v->get_object();
  const auto& w = obj(q, "wait_to_admission");
  queue_summary s{text(q, "drop"),      count(q, "joined"),  count(q, "admitted"),
                  count(q, "sold_out"), count(q, "expired"), count(q, "polled")};
  if (auto* at = q.if_contains("sold_out_at_s"); at && !at->is_null()) s.sold_out_at_s = num(*at);
  s.wait_p50_ms = num(w, "p50_ms"), s.wait_p90_ms = num(w, "p90_ms");
  s.wait_p99_ms = num(w, "p99_ms"), s.wait_max_ms = num(w, "max_ms");
  return s;
}

run_result from_json(const json::object& o) {
  run_result r;
  r.config = obj(o, "config");
  for (const auto& [name, v] : obj(o, "steps")) {
    if (!v.is_object()) continue;
    const auto& s = v.get_object();
    step_summary st{std::string(name), count(s, "count"), count(s, "ok")};
    for (const auto& [code, n] : obj(s, "errors"))
      st.errors[std::string(code)] = static_cast<uint64_t>(num(n));
    st.p50_ms = num(s, "p50_ms"), st.p90_ms = num(s, "p90_ms"), st.p99_ms = num(s, "p99_ms");
    st.p999_ms = num(s, "p999_ms"), st.max_ms = num(s, "max_ms");
    r.steps.push_back(std::move(st));
  }
  if (auto* v = o.if_contains("sold_out_at_s"); v && !v->is_null()) r.sold_out_at_s = num(*v);
  read_audit(obj(o, "audit"), r.audit);
  r.product = text(o, "product");
  r.units = static_cast<int64_t>(num(o, "units"));
  r.opened_at = text(o, "opened_at");
  r.duration_s = num(o, "duration_s");
  const auto& sh = obj(o, "shoppers");
  r.shoppers = count(sh, "arrived"), r.converted = count(sh, "converted");
  r.abandoned = count(sh, "abandoned"), r.turned_away = count(sh, "turned_away");
  r.unfinished = count(sh, "unfinished"), r.sold_out = count(sh, "sold_out");
  r.queue = read_queue(o);
  r.retries_rate_limited = count(obj(o, "retries"), "rate_limited");
  r.retries_overloaded = count(obj(o, "retries"), "overloaded");
  const auto& ws = obj(o, "ws");
  r.watchers = count(ws, "watchers"), r.watchers_connected = count(ws, "connected");
  r.ws_messages = count(ws, "messages");
  r.watchers_reconnections = count(ws, "reconnections"), r.watchers_lost = count(ws, "lost");
  r.ws_p50_ms = num(ws, "p50_ms"), r.ws_p99_ms = num(ws, "p99_ms"), r.ws_max_ms = num(ws, "max_ms");
  const auto& g = obj(o, "generator");
  r.generator_cpu_s = num(g, "cpu_s");
  r.generator_lag_p99_ms = num(g, "loop_lag_p99_ms"),
  r.generator_lag_max_ms = num(g, "loop_lag_max_ms");
  read_series(obj(o, "series"), r.series);
  return r;
}

}  // namespace

json::object to_json(const run_result& r) {
  json::object steps;
  for (const auto& s : r.steps) steps[s.name] = step_json(s);
  json::object o;
  o["config"] = r.config;
  o["steps"] = std::move(steps);
  o["sold_out_at_s"] = r.sold_out_at_s ? json::value(*r.sold_out_at_s) : json::value(nullptr);
  o["audit"] = audit_json(r.audit);
  o["product"] = r.product;
  o["units"] = r.units;
  o["opened_at"] = r.opened_at;
  o["duration_s"] = r.duration_s;
  o["shoppers"] = {{"arrived", r.shoppers},        {"converted", r.converted},
                   {"conversion", r.conversion()}, {"abandoned", r.abandoned},
                   {"turned_away", r.turned_away}, {"sold_out", r.sold_out},
                   {"unfinished", r.unfinished}};
  o["queue"] = queue_json(r.queue);
  o["retries"] = {{"rate_limited", r.retries_rate_limited}, {"overloaded", r.retries_overloaded}};
  o["ws"] = {{"watchers", r.watchers},
             {"connected", r.watchers_connected},
             {"reconnections", r.watchers_reconnections},
             {"lost", r.watchers_lost},
             {"messages", r.ws_messages},
             {"p50_ms", r.ws_p50_ms},
             {"p99_ms", r.ws_p99_ms},
             {"max_ms", r.ws_max_ms}};
  o["generator"] = {{"cpu_s", r.generator_cpu_s},
                    {"loop_lag_p99_ms", r.generator_lag_p99_ms},
                    {"loop_lag_max_ms", r.generator_lag_max_ms}};
  o["series"] = series_json(r.series);
  return o;
}

bool write_result(const run_result& r, const std::string& path) {
  std::ofstream out(path);
  out << http::to_json_text(to_json(r)) << "\n";
  return static_cast<bool>(out);
}

std::optional<run_result> read_result(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::stringstream text_in;
  text_in << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text_in.str(), ec);
  if (ec || !v.is_object() || !v.get_object().contains("steps") ||
      !v.get_object().contains("audit")) {
    error = path + " is not the JSON of a rehearsal (--json)";
    return std::nullopt;
  }
  return from_json(v.get_object());
}

}  // namespace stampede::load
