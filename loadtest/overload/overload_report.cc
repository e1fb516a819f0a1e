#include "loadtest/overload/overload_report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "server/json_text.h"

namespace stampede::load {

namespace {

bool is_failure(const std::string& outcome) {
  for (auto f : {failure::connect, failure::closed, failure::timed_out, failure::abandoned,
                 failure::overflow})
    if (outcome == failure_name(f)) return true;
  return false;
}

// The "ok" answers of one step over the whole run (empty if the step never ran).
latency_histogram ok_total(const run_stats& stats, const std::string& step) {
  auto s = stats.find_step(step);
  auto ok = stats.find_outcome("ok");
  return s && ok ? stats.total(*s, *ok) : latency_histogram{};
}

void tally_load(const run_stats& stats, uint16_t load, overload_figures& f) {
  f.requests = stats.due_total(load);
  for (uint16_t o = 0; o < stats.outcome_count(); ++o) {
    const auto& name = stats.outcome_name(o);
    const auto& h = stats.total(load, o);
    if (h.count() == 0) continue;
    if (name == "ok") {
      f.ok = h.count();
      f.served = h;
    } else if (name == "overloaded") {
      f.shed = h;
    } else if (is_failure(name)) {
      f.unanswered += h.count();
      f.unanswered_by_failure[name] = h.count();
    } else {
      f.other += h.count();
      f.other_by_outcome[name] = h.count();
    }
  }
  // Requests still without an answer when the run gave up were never recorded as answered.
  uint64_t answered = 0;
  for (uint16_t o = 0; o < stats.outcome_count(); ++o) answered += stats.total(load, o).count();
  if (f.requests > answered) {
    f.unanswered += f.requests - answered;
    f.unanswered_by_failure["never_answered"] += f.requests - answered;
  }
  // Refused by the client itself: due like the rest, but never sent.
  if (auto held = stats.find_step(throttled_step_name)) {
    f.throttled = stats.due_total(*held);
    f.requests += f.throttled;
  }
}

// Back to normal: the first sample after the last slow (or failed) one.
std::optional<double> recovery(std::vector<recovery_sample> after, double normal_ms) {
  std::sort(after.begin(), after.end(),
            [](const auto& a, const auto& b) { return a.due_after_stop < b.due_after_stop; });
  auto normal = std::chrono::duration<double, std::milli>(normal_ms);
  std::optional<size_t> last_slow;
  for (size_t i = 0; i < after.size(); ++i)
    if (!after[i].ok || after[i].latency > normal) last_slow = i;
  if (!last_slow) return 0.0;
  if (*last_slow + 1 >= after.size()) return std::nullopt;
  return std::chrono::duration<double>(after[*last_slow + 1].due_after_stop).count();
}

void per_second(const run_stats& stats, uint16_t load, overload_figures& f) {
  auto ok = stats.find_outcome("ok"), shed = stats.find_outcome("overloaded");
  auto held = stats.find_step(throttled_step_name);
  std::vector<uint16_t> reads;
  for (const char* name : {"read_before", "read", "read_after"})
    if (auto id = stats.find_step(name)) reads.push_back(*id);
  const auto& seconds = stats.seconds();
  for (size_t i = 0; i < seconds.size(); ++i) {
    const auto& s = seconds[i];
    overload_figures::second_row row{static_cast<double>(i) - f.shape.before_s,
                                     s.due[load],
                                     0,
                                     0,
                                     0,
                                     0,
                                     held ? s.due[*held] : 0,
                                     to_ms(s.latency[load].value_at_quantile(0.99)),
                                     0};
    row.due += row.throttled;
    for (uint16_t o = 0; o < stats.outcome_count(); ++o) {
      uint64_t n = s.answers[load * run_stats::outcomes_max + o];
      if (ok && o == *ok)
        row.ok += n;
      else if (shed && o == *shed)
        row.shed += n;
      else if (is_failure(stats.outcome_name(o)))
        row.unanswered += n;
      else
        row.other += n;
    }
    latency_histogram read;
    for (auto r : reads) read.merge(s.latency[r]);
    row.read_p99_ms = to_ms(read.value_at_quantile(0.99));
    f.per_second.push_back(row);
  }
}

}  // namespace

overload_figures summarize(const run_stats& stats, const run_shape& shape,
                           std::vector<recovery_sample> after, uint64_t ok_during_load) {
  overload_figures f;
  f.shape = shape;
  if (auto load = stats.find_step(shape.request)) {
    tally_load(stats, *load, f);
    per_second(stats, *load, f);
  }
  f.ok_during_load = ok_during_load;
  f.goodput_per_s = shape.seconds > 0 ? static_cast<double>(ok_during_load) / shape.seconds : 0;
  if (auto s = stats.find_step("read")) f.reads = stats.step_total(*s);
  f.baseline = ok_total(stats, "probe_before");
  f.baseline.merge(ok_total(stats, "read_before"));
  f.normal_ms = shape.normal_ms > 0
                    ? shape.normal_ms
                    : std::max(normal_floor_ms, 2 * to_ms(f.baseline.value_at_quantile(0.99)));
  f.recovery_s = recovery(std::move(after), f.normal_ms);
  return f;
}

void print_progress(const run_stats& stats, steady::time_point now, steady::time_point load_start,
                    const http_pool& load) {
  const auto& seconds = stats.seconds();
  auto index = std::chrono::duration_cast<std::chrono::seconds>(now - stats.origin()).count() - 1;
  uint64_t due = 0, answers = 0;
  if (index >= 0 && static_cast<size_t>(index) < seconds.size()) {
    for (auto d : seconds[index].due) due += d;
    for (auto a : seconds[index].answers) answers += a;
  }
  double t = std::chrono::duration<double>(now - load_start).count();
  std::fprintf(stderr,
               "[%+6.1f s] due %7llu/s  answered %7llu/s  load in flight %zu, waiting %zu, "
               "connections %zu\n",
               t, static_cast<unsigned long long>(due), static_cast<unsigned long long>(answers),
               load.in_flight(), load.waiting(), load.open_connections());
}

namespace {

void print_latency(const char* what, const latency_histogram& h) {
  std::printf("  %-16s %9llu   p50 %9.2f ms   p99 %9.2f ms   max %9.2f ms\n", what,
              static_cast<unsigned long long>(h.count()), to_ms(h.value_at_quantile(0.5)),
              to_ms(h.value_at_quantile(0.99)), to_ms(h.max()));
}

}  // namespace

void print_figures(const overload_figures& f) {
  const auto& s = f.shape;
  std::printf("\n%s at %.0f/s for %.1f s: %llu requests due\n", s.request.c_str(), s.rate_per_s,
              s.seconds, static_cast<unsigned long long>(f.requests));
  std::printf("  goodput          %9.0f 2xx a second while the load ran (%llu 2xx in all)\n",
              f.goodput_per_s, static_cast<unsigned long long>(f.ok));
  print_latency("served (2xx)", f.served);
  print_latency("shed (503)", f.shed);
  std::printf("  the same, from when each was written here (the server's part; the rest waited here\n"
              "  for a free connection):\n");
  print_latency("  served, sent", f.served_from_sent);
  print_latency("  shed, sent", f.shed_from_sent);
  if (f.throttled > 0)
    std::printf("  throttled here   %9llu   (refused by this client itself, unsent: --client-throttle)\n",
                static_cast<unsigned long long>(f.throttled));
  print_latency("reads", f.reads);
  std::printf("  other answers    %9llu", static_cast<unsigned long long>(f.other));
  for (const auto& [k, v] : f.other_by_outcome)
    std::printf("  %s %llu", k.c_str(), static_cast<unsigned long long>(v));
  std::printf("\n  unanswered       %9llu", static_cast<unsigned long long>(f.unanswered));
  for (const auto& [k, v] : f.unanswered_by_failure)
    std::printf("  %s %llu", k.c_str(), static_cast<unsigned long long>(v));
  std::printf("\n  normal latency   <= %.2f ms (baseline p99 %.2f ms over %llu probes)\n",
              f.normal_ms, to_ms(f.baseline.value_at_quantile(0.99)),
              static_cast<unsigned long long>(f.baseline.count()));
  if (f.recovery_s)
    std::printf("  back to normal   %.2f s after the load stopped\n", *f.recovery_s);
  else
    std::printf("  back to normal   not within the %.1f s probed after the stop\n", s.after_s);
  std::printf("  generator        %.2f s of CPU; its loop ran late by p99 %.2f ms, max %.2f ms\n",
              f.generator_cpu_s, to_ms(f.generator_lag.value_at_quantile(0.99)),
              to_ms(f.generator_lag.max()));
  std::printf(
      "\n  second      due      2xx      503    other  no answer  throttled   p99 ms  read p99 ms\n");
  for (const auto& r : f.per_second)
    std::printf("  %+6.0f %8llu %8llu %8llu %8llu %10llu %10llu %8.1f %12.1f\n", r.t_s,
                static_cast<unsigned long long>(r.due), static_cast<unsigned long long>(r.ok),
                static_cast<unsigned long long>(r.shed), static_cast<unsigned long long>(r.other),
                static_cast<unsigned long long>(r.unanswered),
                static_cast<unsigned long long>(r.throttled), r.p99_ms, r.read_p99_ms);
  std::fflush(stdout);
}

namespace {

boost::json::object latency_json(const latency_histogram& h) {
  return {{"count", h.count()},
          {"p50_ms", to_ms(h.value_at_quantile(0.5))},
          {"p99_ms", to_ms(h.value_at_quantile(0.99))},
          {"max_ms", to_ms(h.max())}};
}

}  // namespace

bool write_json(const overload_figures& f, const std::string& path) {
  boost::json::object o;
  o["request"] = f.shape.request;
  o["rate_per_s"] = f.shape.rate_per_s;
  o["seconds"] = f.shape.seconds;
  o["requests"] = f.requests;
  o["goodput_per_s"] = f.goodput_per_s;
  o["ok"] = f.ok;
  o["ok_during_load"] = f.ok_during_load;
  o["served"] = latency_json(f.served);
  o["shed"] = latency_json(f.shed);
  o["served_from_sent"] = latency_json(f.served_from_sent);
  o["shed_from_sent"] = latency_json(f.shed_from_sent);
  o["reads"] = latency_json(f.reads);
  o["other"] = f.other;
  o["unanswered"] = f.unanswered;
  o["throttled"] = f.throttled;
  o["normal_ms"] = f.normal_ms;
  o["recovery_s"] = f.recovery_s ? boost::json::value(*f.recovery_s) : boost::json::value(nullptr);
  o["generator"] = {{"cpu_s", f.generator_cpu_s},
                    {"loop_lag_p99_ms", to_ms(f.generator_lag.value_at_quantile(0.99))},
                    {"loop_lag_max_ms", to_ms(f.generator_lag.max())}};
  boost::json::array rows;
  for (const auto& r : f.per_second)
    rows.push_back({{"t_s", r.t_s},
                    {"due", r.due},
                    {"ok", r.ok},
                    {"shed", r.shed},
                    {"other", r.other},
                    {"unanswered", r.unanswered},
                    {"throttled", r.throttled},
                    {"p99_ms", r.p99_ms},
                    {"read_p99_ms", r.read_p99_ms}});
  o["per_second"] = std::move(rows);
  std::ofstream out(path);
  out << stampede::http::to_json_text(o) << "\n";
  return static_cast<bool>(out);
}

}  // namespace stampede::load
