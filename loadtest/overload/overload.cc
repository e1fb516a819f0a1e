// `overload`: issue 9's overload test on the open model. It drives one request type
// (add-to-cart by default, each request as the next of --users users) at a fixed rate for a
// while, beside product reads and a slow stream of probes at a steady lower rate, then stops
// the load and keeps probing. Requests go out when they are due whether or not earlier ones
// were answered; latency counts from when each was due. One thread, so it can be pinned.
// Usage and the meaning of each figure: loadtest/overload/README.md.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "loadtest/client_throttle.h"
#include "loadtest/flags.h"
#include "loadtest/http_pool.h"
#include "loadtest/overload/overload_report.h"
#include "loadtest/run_stats.h"
#include "loadtest/schedule.h"
#include "loadtest/sync_client.h"
#include "server/auth.h"

namespace stampede::load {
namespace {

// Stock of the product made for the run: adds must never run out of it.
constexpr int64_t product_units = 1'000'000'000;
// Users who send the probes, apart from the load's users so no probe waits behind them.
constexpr int64_t probe_users = 64;
// Probes and reads get connections of their own, so a queue of load requests here does not
// delay them: what they measure is the server.
constexpr size_t probe_connections = 16;
// Load connections opened in the lead-in, before the first request is due.
constexpr size_t prewarm_connections = 64;
// Tokens outlive any run.
constexpr int64_t token_ttl_s = 6 * 3600;
// The connections open before the first request is due.
constexpr std::chrono::milliseconds lead_in{300};
// Capacity search: each step's rate is this much above the last passing one, at most this
// many steps; a pass needs this share of 2xx answers.
constexpr double capacity_growth = 1.5;
constexpr int capacity_steps_max = 14;
constexpr double capacity_ok_share = 0.99;

struct options {
  std::string target_url = "http://127.0.0.1:8080";
  std::string jwt_secret = default_jwt_secret();
  std::string request = "add";
  std::string product = "overload-item";
  double rate_per_s = 0;
  double seconds = 10;
  double read_rate_per_s = 50;
  double probe_rate_per_s = 50;
  double before_s = 2;
  double after_s = 5;
  double normal_ms = 0;
  double capacity_p99_ms = 100;
  double client_throttle_k = 0;   // --client-throttle: 0, off
  double throttle_window_s = 1;
  int64_t users = 10'000;
  int64_t connections = 1024;
  int64_t timeout_ms = 10'000;
  std::string json_path;
  std::string path;  // --path: GET this instead, with no product set-up
  bool find_capacity = false;
  bool no_setup = false;  // --no-setup: the product is not made through the admin API
};

std::vector<flag> flag_table(options& o) {
  return {
      target_flag(o.target_url),
      jwt_secret_flag(o.jwt_secret),
      {"--request", "KIND",
       "what the load sends: add (POST /v1/cart/items, default) or browse (GET /v1/products/{id})",
       [&o](const std::string& v) -> std::optional<std::string> {
         if (v != "add" && v != "browse") return "must be add or browse";
         o.request = v;
         return std::nullopt;
       }},
      {"--rate", "R", "load requests a second (required, unless --find-capacity)",
       set_number(o.rate_per_s, 1, 10'000'000)},
      {"--seconds", "T", "how long the load runs (default 10)", set_number(o.seconds, 0.1, 3600)},
      {"--read-rate", "R", "product reads a second, before, during and after the load (default 50)",
       set_number(o.read_rate_per_s, 0, 100'000)},
      {"--probe-rate", "R",
       "probes a second (the load's request from other users) before, during and after (default "
       "50)",
       set_number(o.probe_rate_per_s, 0, 100'000)},
      {"--before", "S", "seconds of probes before the load: what normal latency is (default 2)",
       set_number(o.before_s, 0, 600)},
      {"--after", "S", "seconds of probes after the load stops (default 5)",
       set_number(o.after_s, 0, 600)},
      {"--normal-ms", "MS",
       "latency that counts as normal again (default: 2x the p99 before the load, at least 5 ms)",
       set_number(o.normal_ms, 0, 60'000)},
      {"--users", "N",
       "users the load's requests rotate through, tokens minted here (default 10000)",
       set_integer(o.users, 1, 10'000'000)},
      {"--product", "ID",
       "product to add or read; made with 1e9 units if missing (default overload-item)",
       set_text(o.product)},
      {"--connections", "N", "cap on the load's keep-alive connections (default 1024)",
       set_integer(o.connections, 1, 100'000)},
      {"--timeout-ms", "MS", "a request unanswered this long counts as unanswered (default 10000)",
       set_integer(o.timeout_ms, 10, 600'000)},
      {"--json", "FILE", "also write the figures as JSON", set_text(o.json_path)},
      {"--path", "PATH",
       "with --request browse: GET this path instead, and set nothing up (to measure this "
       "tool against wrk on any server, nginx included)",
       set_text(o.path)},
      {"--no-setup", "",
       "create nothing through the admin API: the target answers the load without it (a peer "
       "such as nginx, answering adds with a static 503 and reads with a static product)",
       set_switch(o.no_setup)},
      {"--find-capacity", "",
       "step the rate up from --rate (default 1000) until a step fails; report the last that "
       "passed",
       set_switch(o.find_capacity)},
      {"--client-throttle", "K",
       "model a client that throttles itself (SRE book, ch. 21): refuse a load request here, "
       "unsent, with probability max(0, (requests - K*accepts) / (requests + 1)) over the "
       "window (default 0: off, every request is sent)",
       set_number(o.client_throttle_k, 0, 100)},
      {"--throttle-window", "S", "with --client-throttle: the window it counts over (default 1)",
       set_number(o.throttle_window_s, 0.1, 600)},
      {"--capacity-p99-ms", "MS",
       "a capacity step passes with 99% 2xx and served p99 under this (default 100)",
       set_number(o.capacity_p99_ms, 1, 60'000)},
  };
}

// One run: before (probes and reads only), the load, after (probes and reads only).
class overload_run {
 public:
  overload_run(const options& o, const target& t, double rate_per_s, double before_s,
               double after_s)
      : o_(o),
        t_(t),
        rate_(rate_per_s),
        before_(before_s),
        after_(after_s),
        start_(steady::now() + lead_in),
        stats_(start_),
        tick_(io_) {
    if (o_.client_throttle_k > 0)
      throttle_.emplace(o_.client_throttle_k, seconds(o_.throttle_window_s));
    load_start_ = start_ + seconds(before_);
    load_stop_ = load_start_ + seconds(o_.seconds);
    end_ = load_stop_ + seconds(after_);
  }

  overload_figures run();

 private:
  static steady::duration seconds(double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
  }
  void mint_wires();
  // The step a probe or read is counted under: by whether it was due before, during or
  // after the load (ids interned once, not per request).
  uint16_t phase_step(const uint16_t (&ids)[3], steady::time_point due) const;
  void send(http_pool& pool, uint16_t step, std::string_view wire, bool probe,
            steady::time_point due);
  // A load request, unless the client's own throttle refuses it (counted, never sent).
  void send_load(http_pool& pool, std::string_view wire, steady::time_point due);
  uint16_t classify(const http_answer& a);
  void on_tick();

  const options& o_;
  const target& t_;
  double rate_, before_, after_;
  steady::time_point start_, load_start_, load_stop_, end_;
  asio::io_context io_{1};
  run_stats stats_;
  std::vector<std::string> load_wires_, probe_wires_;
  std::string read_wire_;
  std::vector<recovery_sample> after_samples_;
  asio::steady_timer tick_;
  loop_lag lag_{io_};
  std::vector<http_pool*> pools_;
  uint16_t ok_ = stats_.outcome("ok");
  uint16_t overloaded_ = stats_.outcome("overloaded");
  uint16_t rate_limited_ = stats_.outcome("rate_limited");
  uint16_t load_step_ = stats_.step(o_.request);
  uint16_t throttled_step_ = stats_.step(throttled_step_name);
  std::optional<client_throttle> throttle_;
  std::mt19937_64 random_{0x5eed};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  uint16_t probe_steps_[3] = {stats_.step("probe_before"), stats_.step("probe"),
                              stats_.step("probe_after")};
  uint16_t read_steps_[3] = {stats_.step("read_before"), stats_.step("read"),
                             stats_.step("read_after")};
  uint64_t ok_during_load_ = 0;
  latency_histogram served_from_sent_, shed_from_sent_;
};

void overload_run::mint_wires() {
  std::random_device rd;
  std::string run_id = std::to_string(rd() % 1'000'000);
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  std::string path = o_.path.empty() ? "/v1/products/" + o_.product : o_.path;
  std::string body = R"({"product_id":")" + o_.product + R"(","quantity":1})";
  auto wire_for = [&](const std::string& user) {
    if (o_.request == "browse") return build_request("GET", path, t_.host_header, "", "", "");
    auto token = http::sign_token(o_.jwt_secret, user, "customer", now_s + token_ttl_s);
    return build_request("POST", "/v1/cart/items", t_.host_header, token, "", body);
  };
  int64_t users = o_.request == "browse" ? 1 : o_.users;  // a read is the same for everyone
  for (int64_t i = 0; i < users; ++i)
    load_wires_.push_back(wire_for("ovl-" + run_id + "-" + std::to_string(i)));
  for (int64_t i = 0; i < probe_users; ++i)
    probe_wires_.push_back(wire_for("ovl-" + run_id + "-probe-" + std::to_string(i)));
  read_wire_ = build_request("GET", path, t_.host_header, "", "", "");
}

uint16_t overload_run::phase_step(const uint16_t (&ids)[3], steady::time_point due) const {
  return ids[due < load_start_ ? 0 : due < load_stop_ ? 1 : 2];
}

uint16_t overload_run::classify(const http_answer& a) {
  if (a.failed != failure::none) return stats_.outcome(failure_name(a.failed));
  if (a.status >= 200 && a.status < 300) return ok_;
  if (a.status == 503) return overloaded_;
  if (a.status == 429) return rate_limited_;
  return stats_.outcome("http_" + std::to_string(a.status));
}

void overload_run::send(http_pool& pool, uint16_t id, std::string_view wire, bool probe,
                        steady::time_point due) {
  stats_.record_due(id, due);
  pool.send(due, http_request{{}, true, wire}, [this, id, probe](http_answer&& a) {
    uint16_t outcome = classify(a);
    stats_.record_answer(id, outcome, a.due, a.answered);
    if (!probe && outcome == ok_ && a.answered < load_stop_) ++ok_during_load_;
    if (!probe && outcome == ok_ && throttle_) throttle_->accepted(a.answered);
    if (!probe && (outcome == ok_ || outcome == overloaded_) && a.sent != steady::time_point{})
      (outcome == ok_ ? served_from_sent_ : shed_from_sent_)
          .record(static_cast<uint64_t>(std::chrono::nanoseconds(a.answered - a.sent).count()));
    if (probe && a.due >= load_stop_)
      after_samples_.push_back({a.due - load_stop_, a.latency(),
                                a.failed == failure::none && a.status >= 200 && a.status < 300});
  });
}

void overload_run::send_load(http_pool& pool, std::string_view wire, steady::time_point due) {
  if (throttle_ && !throttle_->allow(steady::now(), uniform_(random_)))
    return stats_.record_due(throttled_step_, due);
  send(pool, load_step_, wire, false, due);
}

void overload_run::on_tick() {
  auto now = steady::now();
  size_t busy = 0;
  for (auto* p : pools_) busy += p->in_flight() + p->waiting();
  print_progress(stats_, now, load_start_, *pools_[0]);
  bool drained = now >= end_ && busy == 0;
  bool given_up = now >= end_ + std::chrono::milliseconds(o_.timeout_ms) + std::chrono::seconds(1);
  if (drained || given_up) {
    for (auto* p : pools_) p->shutdown();
    lag_.stop();
    return;
  }
  tick_.expires_after(std::chrono::seconds(1));
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

overload_figures overload_run::run() {
  mint_wires();
  pool_options load_options{static_cast<size_t>(o_.connections),
                            std::chrono::milliseconds(o_.timeout_ms)};
  load_options.keep_bodies = false;
  pool_options side_options = load_options;
  side_options.connections_max = probe_connections;
  http_pool load(io_, t_, load_options), probes(io_, t_, side_options),
      reads(io_, t_, side_options);
  pools_ = {&load, &probes, &reads};
  load.prewarm(prewarm_connections);
  probes.prewarm(probe_connections);
  reads.prewarm(probe_connections);
  auto count = [](double rate, double s) { return static_cast<uint64_t>(rate * s); };
  pacer load_pacer(io_, load_start_, rate_, count(rate_, o_.seconds),
                   [&](uint64_t i, steady::time_point due) {
                     send_load(load, load_wires_[i % load_wires_.size()], due);
                   });
  double side_s = before_ + o_.seconds + after_;
  pacer probe_pacer(io_, start_, o_.probe_rate_per_s, count(o_.probe_rate_per_s, side_s),
                    [&](uint64_t i, steady::time_point due) {
                      send(probes, phase_step(probe_steps_, due),
                           probe_wires_[i % probe_wires_.size()], true, due);
                    });
  pacer read_pacer(io_, start_, o_.read_rate_per_s, count(o_.read_rate_per_s, side_s),
                   [&](uint64_t, steady::time_point due) {
                     send(reads, phase_step(read_steps_, due), read_wire_, true, due);
                   });
  double cpu_at_start = process_cpu_s();
  lag_.start();
  load_pacer.begin();
  probe_pacer.begin();
  read_pacer.begin();
  tick_.expires_at(start_ + std::chrono::seconds(1));
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
  io_.run();
  auto f = summarize(stats_, {rate_, o_.seconds, before_, after_, o_.normal_ms, o_.request},
                     std::move(after_samples_), ok_during_load_);
  f.served_from_sent = served_from_sent_;
  f.shed_from_sent = shed_from_sent_;
  f.generator_cpu_s = process_cpu_s() - cpu_at_start;
  f.generator_lag = lag_.lateness();
  return f;
}

// Makes sure the product exists (created with plenty of units), through the admin API.
int prepare(const options& o, const target& t) {
  sync_client client(t);
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  auto admin = http::sign_token(o.jwt_secret, "overload-admin", "admin", now_s + token_ttl_s);
  auto got = client.request("GET", "/v1/admin/products/" + o.product, admin);
  if (got.status == 0) {
    std::fprintf(stderr, "overload: %s: %s\n", o.target_url.c_str(), got.error.c_str());
    return 2;
  }
  if (got.status == 401 || got.status == 403) {
    std::fprintf(stderr,
                 "overload: the server refused the admin token (%u): is --jwt-secret its secret?\n",
                 got.status);
    return 2;
  }
  if (got.status == 200) return 0;
  std::string body = R"({"id":")" + o.product +
                     R"(","name":"Overload test item","price":1000,"on_hand":)" +
                     std::to_string(product_units) + "}";
  auto made = client.request("POST", "/v1/admin/products", admin, body);
  if (made.status != 201 && made.status != 409) {
    std::fprintf(stderr, "overload: cannot create %s: %u %s\n", o.product.c_str(), made.status,
                 made.body.c_str());
    return 2;
  }
  return 0;
}

// Steps the rate up until a step fails; the capacity is the last rate that passed.
int find_capacity(const options& o, const target& t) {
  double rate = o.rate_per_s > 0 ? o.rate_per_s : 1000;
  double passed = 0;
  std::printf(
      "capacity search: %.1f s a step; a step passes with >= %.0f%% 2xx and served p99 < %.0f ms\n",
      o.seconds, capacity_ok_share * 100, o.capacity_p99_ms);
  for (int step = 0; step < capacity_steps_max; ++step) {
    overload_run r(o, t, rate, 0, 0);
    auto f = r.run();
    bool ok = f.requests > 0 &&
              static_cast<double>(f.ok) >= capacity_ok_share * static_cast<double>(f.requests) &&
              to_ms(f.served.value_at_quantile(0.99)) < o.capacity_p99_ms;
    std::printf("  %9.0f/s: goodput %9.0f/s, served p99 %8.1f ms, shed %llu, unanswered %llu: %s\n",
                rate, f.goodput_per_s, to_ms(f.served.value_at_quantile(0.99)),
                static_cast<unsigned long long>(f.shed.count()),
                static_cast<unsigned long long>(f.unanswered), ok ? "pass" : "fail");
    std::fflush(stdout);
    if (!ok) break;
    passed = rate;
    rate *= capacity_growth;
    sleep(1);  // let the server settle between steps
  }
  if (passed == 0) {
    std::printf("capacity: below %.0f/s (the first step failed; start lower with --rate)\n", rate);
    return 1;
  }
  std::printf("capacity: about %.0f/s (the next step, %.0f/s, failed)\n", passed, rate);
  return 0;
}

int overload_main(int argc, char** argv) {
  options o;
  auto table = flag_table(o);
  bool help = false;
  if (auto err = parse_flags(table, {argv + 1, argv + argc}, help)) {
    std::fprintf(stderr, "overload: %s\n", err->c_str());
    return 2;
  }
  if (help) {
    std::printf(
        "overload: open-model overload test of a stampede server (see "
        "loadtest/overload/README.md)\n%s",
        flags_usage(table).c_str());
    return 0;
  }
  if (o.rate_per_s <= 0 && !o.find_capacity) {
    std::fprintf(stderr, "overload: --rate is required (or --find-capacity)\n");
    return 2;
  }
  std::string error;
  auto t = parse_target(o.target_url, error);
  if (!t) {
    std::fprintf(stderr, "overload: --target: %s\n", error.c_str());
    return 2;
  }
  if (!o.path.empty() && o.request != "browse") {
    std::fprintf(stderr, "overload: --path goes with --request browse\n");
    return 2;
  }
  if (o.path.empty() && !o.no_setup)
    if (int rc = prepare(o, *t)) return rc;
  if (o.find_capacity) return find_capacity(o, *t);
  overload_run r(o, *t, o.rate_per_s, o.before_s, o.after_s);
  auto f = r.run();
  print_figures(f);
  if (!o.json_path.empty() && !write_json(f, o.json_path)) {
    std::fprintf(stderr, "overload: cannot write %s\n", o.json_path.c_str());
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace stampede::load

int main(int argc, char** argv) { return stampede::load::overload_main(argc, argv); }
