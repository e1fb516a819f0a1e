#include "loadtest/rehearse/summary.h"

#include <cmath>

#include "server/rfc3339.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

json::object config_json(const rehearse_options& o) {
  return {{"target", o.target_url},
          {"shoppers", o.shoppers},
          {"units", o.units},
          {"product", o.product},
          {"opens_in_s", o.opens_in_s},
          {"arrival", o.arrival},
          {"abandon", o.abandon},
          {"declined", o.declined},
          {"paypal", o.paypal},
          {"watchers", o.watchers},
          {"duration_s", o.duration_s},
          {"connections", o.connections},
          {"think_ms", o.think_ms},
          {"max_per_user", o.max_per_user},
          {"seed", o.seed},
          {"timeout_ms", o.timeout_ms},
          {"drop", o.drop}};
}

step_summary summarize_step(const run_stats& stats, uint16_t step) {
  step_summary s{stats.step_name(step), stats.due_total(step)};
  for (uint16_t o = 0; o < stats.outcome_count(); ++o) {
    uint64_t n = stats.total(step, o).count();
    if (n == 0) continue;
    if (stats.outcome_name(o) == "ok")
      s.ok = n;
    else
      s.errors[stats.outcome_name(o)] = n;
  }
  auto h = stats.step_total(step);
  s.p50_ms = to_ms(h.value_at_quantile(0.5));
  s.p90_ms = to_ms(h.value_at_quantile(0.9));
  s.p99_ms = to_ms(h.value_at_quantile(0.99));
  s.p999_ms = to_ms(h.value_at_quantile(0.999));
  s.max_ms = to_ms(h.max());
  return s;
}

double quantile_or_gap(const latency_histogram& h, double q) {
  return h.count() ? to_ms(h.value_at_quantile(q)) : no_sample;
}

run_series make_series(const run_stats& stats, const run_stats& ws,
                       const std::vector<uint16_t>& steps) {
  run_series s;
  const auto& seconds = stats.seconds();
  for (auto step : steps) {
    s.steps.push_back(stats.step_name(step));
    std::vector<double> due;
    std::vector<std::vector<double>> latency(std::size(series_quantiles));
    for (const auto& sec : seconds) {
      due.push_back(static_cast<double>(sec.due[step]));
      for (size_t q = 0; q < std::size(series_quantiles); ++q)
        latency[q].push_back(quantile_or_gap(sec.latency[step], series_quantiles[q]));
    }
    s.requests.push_back(std::move(due));
    s.latency_ms.push_back(std::move(latency));
  }
  for (uint16_t o = 0; o < stats.outcome_count(); ++o) {
    std::vector<double> per_second;
    for (const auto& sec : seconds) {
      uint64_t n = 0;
      for (auto step : steps) n += sec.answers[step * run_stats::outcomes_max + o];
      per_second.push_back(static_cast<double>(n));
    }
    s.answers[stats.outcome_name(o)] = std::move(per_second);
  }
  s.ws_delay_ms.resize(3);
  if (auto id = ws.find_step("ws"))
    for (const auto& sec : ws.seconds())
      for (size_t q = 0; q < 3; ++q)
        s.ws_delay_ms[q].push_back(quantile_or_gap(sec.latency[*id], q == 0   ? 0.5
                                                                     : q == 1 ? 0.99
                                                                              : 1.0));
  return s;
}

// The queue's figures from the steps "queue" and "admission" (see journeys::on_ticket).
queue_summary summarize_queue(const run_stats& stats, const std::string& drop,
                              const journey_counts& c) {
  queue_summary q{drop};
  q.polled = c.queue_polled;
  if (c.queue_sold_out_at)
    q.sold_out_at_s = std::chrono::duration<double>(*c.queue_sold_out_at - stats.origin()).count();
  auto count_of = [&](std::string_view step, std::string_view outcome) -> uint64_t {
    auto s = stats.find_step(step);
    auto o = stats.find_outcome(outcome);
    return s && o ? stats.total(*s, *o).count() : 0;
  };
  q.joined = count_of("queue", "ok");
  q.admitted = count_of("admission", "ok");
  q.sold_out = count_of("admission", "sold_out") + count_of("queue", "sold_out");
  q.expired = count_of("admission", "expired");
  auto s = stats.find_step("admission");
  auto ok = stats.find_outcome("ok");
  if (s && ok) {
    const auto& h = stats.total(*s, *ok);
    q.wait_p50_ms = to_ms(h.value_at_quantile(0.5));
    q.wait_p90_ms = to_ms(h.value_at_quantile(0.9));
    q.wait_p99_ms = to_ms(h.value_at_quantile(0.99));
    q.wait_max_ms = to_ms(h.max());
  }
  return q;
}

}  // namespace

run_result make_result(const rehearse_options& o, const sale_setup& setup, const sale& run,
                       audit_result audit) {
  run_result r;
  r.config = config_json(o);
  r.product = setup.product;
  r.units = setup.units;
  r.opened_at = http::format_rfc3339_ms(setup.opening_unix_ms);
  r.duration_s = run.duration_s();
  const auto& stats = run.stats();
  std::vector<uint16_t> used;
  for (uint16_t s = 0; s < stats.step_count(); ++s)
    if (stats.due_total(s) > 0) {
      used.push_back(s);
      r.steps.push_back(summarize_step(stats, s));
    }
  r.sold_out_at_s = run.sold_out_at_s();
  r.audit = std::move(audit);
  const auto& c = run.counts();
  r.shoppers = static_cast<uint64_t>(o.shoppers);
  r.converted = c.converted, r.abandoned = c.abandoned, r.turned_away = c.turned_away;
  r.unfinished = c.gave_up + c.cut + (r.shoppers - c.ended());
  r.sold_out = c.sold_out;
  if (!setup.drop.empty()) r.queue = summarize_queue(stats, setup.drop, c);
  r.retries_rate_limited = c.retries_rate_limited, r.retries_overloaded = c.retries_overloaded;
  const auto& w = run.watchers();
  r.watchers = w.watchers, r.watchers_connected = w.connected, r.ws_messages = w.messages;
  r.watchers_reconnections = w.reconnections, r.watchers_lost = w.lost;
  if (auto id = run.ws_stats().find_step("ws")) {
    auto h = run.ws_stats().step_total(*id);
    r.ws_p50_ms = to_ms(h.value_at_quantile(0.5));
    r.ws_p99_ms = to_ms(h.value_at_quantile(0.99));
    r.ws_max_ms = to_ms(h.max());
  }
  r.generator_cpu_s = run.cpu_s();
  r.generator_lag_p99_ms = to_ms(run.loop_lateness().value_at_quantile(0.99));
  r.generator_lag_max_ms = to_ms(run.loop_lateness().max());
  r.series = make_series(stats, run.ws_stats(), used);
  r.series.stock = run.stock();
  r.series.pushed = run.pushed();
  return r;
}

void print_summary(const run_result& r, std::FILE* out) {
  std::fprintf(out,
               "\nRehearsal of %s: %llu shoppers for %lld units, opened %s, over after %.2f s\n",
               r.product.c_str(), static_cast<unsigned long long>(r.shoppers),
               static_cast<long long>(r.units), r.opened_at.c_str(), r.duration_s);
  if (r.sold_out_at_s)
    std::fprintf(out, "  sold out     %.3f s after the opening\n", *r.sold_out_at_s);
  else
    std::fprintf(out, "  sold out     not during the run\n");
  std::fprintf(out,
               "  sold         %llu units in %llu orders (%llu units paid); conversion %.2f%% "
               "(%llu of %llu)\n",
               static_cast<unsigned long long>(r.audit.units_sold),
               static_cast<unsigned long long>(r.audit.orders),
               static_cast<unsigned long long>(r.audit.paid_units), 100 * r.conversion(),
               static_cast<unsigned long long>(r.converted),
               static_cast<unsigned long long>(r.shoppers));
  std::fprintf(out,
               "  shoppers     %llu paid, %llu abandoned, %llu turned away, %llu sold out in the "
               "queue, %llu gave up or were cut off\n",
               static_cast<unsigned long long>(r.converted),
               static_cast<unsigned long long>(r.abandoned),
               static_cast<unsigned long long>(r.turned_away),
               static_cast<unsigned long long>(r.sold_out),
               static_cast<unsigned long long>(r.unfinished));
  if (const auto& q = r.queue)
    std::fprintf(out,
                 "  queue        drop %s: %llu joined, %llu admitted (wait p50 %.1f ms, p99 %.1f "
                 "ms, max %.1f ms), %llu sold out (the first at %.3f s), %llu expired, %llu "
                 "waited by polling\n",
                 q->drop.c_str(), static_cast<unsigned long long>(q->joined),
                 static_cast<unsigned long long>(q->admitted), q->wait_p50_ms, q->wait_p99_ms,
                 q->wait_max_ms, static_cast<unsigned long long>(q->sold_out),
                 q->sold_out_at_s.value_or(NAN), static_cast<unsigned long long>(q->expired),
                 static_cast<unsigned long long>(q->polled));
  std::fprintf(out, "  retries      %llu after 429, %llu after 503\n",
               static_cast<unsigned long long>(r.retries_rate_limited),
               static_cast<unsigned long long>(r.retries_overloaded));
  std::fprintf(out,
               "  watchers     %llu of %llu connected at the end (%llu reconnections, %llu lost), "
               "%llu messages, delay p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               static_cast<unsigned long long>(r.watchers_connected),
               static_cast<unsigned long long>(r.watchers),
               static_cast<unsigned long long>(r.watchers_reconnections),
               static_cast<unsigned long long>(r.watchers_lost),
               static_cast<unsigned long long>(r.ws_messages), r.ws_p50_ms, r.ws_p99_ms,
               r.ws_max_ms);
  std::fprintf(out, "  generator    %.2f s of CPU; its loop ran late by p99 %.2f ms, max %.2f ms\n",
               r.generator_cpu_s, r.generator_lag_p99_ms, r.generator_lag_max_ms);
  if (r.generator_lag_p99_ms > generator_lag_warn_ms)
    std::fprintf(out,
                 "  warning: the generator was saturated; its own delay is in the latencies\n");
  std::fprintf(out, "\n  %-10s %8s %8s %9s %9s %9s %9s %9s  %s\n", "step", "count", "ok", "p50 ms",
               "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors");
  for (const auto& s : r.steps) {
    std::string errors;
    for (const auto& [code, n] : s.errors) errors += code + " " + std::to_string(n) + "  ";
    std::fprintf(out, "  %-10s %8llu %8llu %9.2f %9.2f %9.2f %9.2f %9.2f  %s\n", s.name.c_str(),
                 static_cast<unsigned long long>(s.count), static_cast<unsigned long long>(s.ok),
                 s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms, errors.c_str());
  }
  std::fprintf(out, "\n  audit: %llu orders of this run, %llu units sold: %s\n",
               static_cast<unsigned long long>(r.audit.orders),
               static_cast<unsigned long long>(r.audit.units_sold),
               !r.audit.complete            ? "INCOMPLETE"
               : r.audit.violations.empty() ? "passed"
                                            : "FAILED");
  for (const auto& n : r.audit.notes) std::fprintf(out, "  note: %s\n", n.c_str());
  for (const auto& v : r.audit.violations)
    std::fprintf(out, "VIOLATION %s: %s\n", v.kind.c_str(), v.detail.c_str());
  std::fflush(out);
}

namespace {

void compare_row(std::FILE* out, const std::string& what, double a, double b, const char* format) {
  char av[32], bv[32], ratio[32] = "";
  std::snprintf(av, sizeof av, format, a);
  std::snprintf(bv, sizeof bv, format, b);
  if (a != 0 && std::isfinite(b / a)) std::snprintf(ratio, sizeof ratio, "%.2fx", b / a);
  std::fprintf(out, "  %-22s %16s %16s %10s\n", what.c_str(), av, bv, ratio);
}

const step_summary* find_step(const run_result& r, const std::string& name) {
  for (const auto& s : r.steps)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

void print_comparison(const run_result& a, const run_result& b, const std::string& a_name,
                      const std::string& b_name, std::FILE* out) {
  std::fprintf(out, "  %-22s %16s %16s %10s\n", "", a_name.substr(0, 16).c_str(),
               b_name.substr(0, 16).c_str(), "B/A");
  compare_row(out, "shoppers", static_cast<double>(a.shoppers), static_cast<double>(b.shoppers),
              "%.0f");
  compare_row(out, "units", static_cast<double>(a.units), static_cast<double>(b.units), "%.0f");
  compare_row(out, "sold out after (s)", a.sold_out_at_s.value_or(NAN),
              b.sold_out_at_s.value_or(NAN), "%.3f");
  compare_row(out, "units sold", static_cast<double>(a.audit.units_sold),
              static_cast<double>(b.audit.units_sold), "%.0f");
  compare_row(out, "conversion (%)", 100 * a.conversion(), 100 * b.conversion(), "%.2f");
  compare_row(out, "retries after 503", static_cast<double>(a.retries_overloaded),
              static_cast<double>(b.retries_overloaded), "%.0f");
  compare_row(out, "ws delay p99 (ms)", a.ws_p99_ms, b.ws_p99_ms, "%.2f");
  if (a.queue && b.queue) {
    compare_row(out, "admitted", static_cast<double>(a.queue->admitted),
                static_cast<double>(b.queue->admitted), "%.0f");
    compare_row(out, "admission wait p99 (ms)", a.queue->wait_p99_ms, b.queue->wait_p99_ms, "%.2f");
  }
  for (const auto& sa : a.steps) {
    const step_summary* sb = find_step(b, sa.name);
    if (!sb) continue;
    compare_row(out, sa.name + " count", static_cast<double>(sa.count),
                static_cast<double>(sb->count), "%.0f");
    compare_row(out, sa.name + " p50 (ms)", sa.p50_ms, sb->p50_ms, "%.2f");
    compare_row(out, sa.name + " p99 (ms)", sa.p99_ms, sb->p99_ms, "%.2f");
  }
  compare_row(out, "violations", static_cast<double>(a.audit.violations.size()),
              static_cast<double>(b.audit.violations.size()), "%.0f");
  std::fflush(out);
}

}  // namespace stampede::load
