#include "loadtest/rehearse/report_html.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "loadtest/rehearse/summary.h"
#include "loadtest/rehearse/svg.h"
#include "server/json_text.h"

namespace stampede::load {

namespace {

constexpr const char* style = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:18px 24px;color:#222;max-width:1280px}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:22px 0 6px}
.verdict{padding:8px 12px;border-radius:4px;font-weight:600;margin-bottom:8px}
.pass{background:#e3f4ea;border:1px solid #2e8b57;color:#1d5e3a}
.fail{background:#fbe4e1;border:1px solid #c0392b;color:#8e2418}
.verdict ul{margin:4px 0 0;font-weight:400}
.figures{display:flex;gap:6px;margin:6px 0 10px}
.figure{flex:1 1 0;border:1px solid #ccd;border-radius:4px;padding:3px 8px}
.figure b{display:block;font-size:17px}.figure span{font-size:11px;color:#555}
.figure.warn{border-color:#c0392b;background:#fbe4e1}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.chart{width:100%;height:auto;border:1px solid #e4e4ea;background:#fff}
.chart .t{font-size:13px;font-weight:600}.chart .g{stroke:#eee}.chart .ax{stroke:#888}
.chart .yl{font-size:10px;text-anchor:end;fill:#555}.chart .xl{font-size:10px;text-anchor:middle;fill:#555}
.chart .xn,.chart .yn{font-size:11px;text-anchor:middle;fill:#444}.chart .lg{font-size:11px;fill:#333}
.chart .mk{font-size:10px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
)";

std::string fmt(const char* format, double v) {
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

// Scales shared by every run drawn, so two runs side by side read alike.
struct scales {
  double x_min = 0, x_max = 1, stock_max = 1, requests_max = 1, answers_max = 1;
  double latency_min = 0.1, latency_max = 1, ws_max = 1;
};

double series_end(const run_result& r) {
  double end = r.series.start_s;
  for (const auto& v : r.series.requests)
    end = std::max(end, r.series.start_s + static_cast<double>(v.size()));
  for (const auto& p : r.series.stock) end = std::max(end, p.t_s);
  return std::max(end, r.duration_s);
}

scales scales_of(const std::vector<const run_result*>& runs) {
  scales s;
  double lat_lo = 1e18, lat_hi = 0;
  for (const run_result* r : runs) {
    s.x_max = std::max(s.x_max, series_end(*r));
    for (const auto& p : r->series.stock) {
      s.x_min = std::min(s.x_min, std::floor(p.t_s));
      s.stock_max = std::max<double>(s.stock_max, static_cast<double>(p.on_hand));
    }
    for (const auto& v : r->series.requests)
      for (double x : v) s.requests_max = std::max(s.requests_max, x);
    size_t seconds = 0;
    for (const auto& [o, v] : r->series.answers) seconds = std::max(seconds, v.size());
    for (size_t i = 0; i < seconds; ++i) {
      double total = 0;
      for (const auto& [o, v] : r->series.answers) total += i < v.size() ? v[i] : 0;
      s.answers_max = std::max(s.answers_max, total);
    }
    for (const auto& step : r->series.latency_ms)
      for (const auto& q : step)
        for (double x : q)
          if (x > 0) lat_lo = std::min(lat_lo, x), lat_hi = std::max(lat_hi, x);
    for (const auto& q : r->series.ws_delay_ms)
      for (double x : q) s.ws_max = std::max(s.ws_max, x);
  }
  s.x_max = std::ceil(s.x_max);
  s.stock_max = nice_ceiling(s.stock_max * 1.05);
  s.requests_max = nice_ceiling(s.requests_max);
  s.answers_max = nice_ceiling(s.answers_max);
  s.ws_max = nice_ceiling(s.ws_max);
  if (lat_hi > 0) {
    s.latency_min = std::pow(10.0, std::floor(std::log10(lat_lo)));
    s.latency_max = std::pow(10.0, std::ceil(std::log10(lat_hi)));
    if (s.latency_max <= s.latency_min) s.latency_max = s.latency_min * 10;
  }
  return s;
}

std::vector<chart_marker> instants(const run_result& r) {
  std::vector<chart_marker> m{{0, "opening", "#2e8b57"}};
  if (r.sold_out_at_s)
    m.push_back({*r.sold_out_at_s, "sold out " + fmt("%.2f s", *r.sold_out_at_s), "#c0392b"});
  return m;
}

std::vector<double> second_midpoints(const run_result& r, size_t n) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = r.series.start_s + static_cast<double>(i) + 0.5;
  return x;
}

std::string stock_chart(const run_result& r, const scales& s) {
  chart_line available{"available", palette(0)}, held{"held (reserved)", palette(1)},
      sold{"sold (committed)", palette(2)}, on_hand{"on hand", palette(8), {}, {}, true};
  for (const auto& p : r.series.stock) {
    for (chart_line* l : {&available, &held, &sold, &on_hand}) l->x.push_back(p.t_s);
    available.y.push_back(static_cast<double>(p.available));
    held.y.push_back(static_cast<double>(p.reserved));
    sold.y.push_back(static_cast<double>(p.committed));
    on_hand.y.push_back(static_cast<double>(p.on_hand));
  }
  chart_line pushed{"available, pushed", palette(5), {}, {}, true};
  for (const auto& [t, v] : r.series.pushed) {
    pushed.x.push_back(t);
    pushed.y.push_back(static_cast<double>(v));
  }
  chart_axes a{"Stock over time", "seconds since the opening", "units", s.x_min, s.x_max, 0,
               s.stock_max};
  return svg_line_chart(a, {available, held, sold, on_hand, pushed}, instants(r));
}

std::string requests_chart(const run_result& r, const scales& s) {
  std::vector<chart_line> lines;
  for (size_t i = 0; i < r.series.steps.size() && i < r.series.requests.size(); ++i) {
    const auto& v = r.series.requests[i];
    lines.push_back({r.series.steps[i], palette(i), second_midpoints(r, v.size()), v});
  }
  chart_axes a{"Requests a second, by step (when due)",
               "seconds since the opening",
               "requests / s",
               s.x_min,
               s.x_max,
               0,
               s.requests_max};
  return svg_line_chart(a, lines, instants(r));
}

std::string answers_chart(const run_result& r, const scales& s) {
  std::vector<bar_layer> layers;
  auto ok = r.series.answers.find("ok");
  if (ok != r.series.answers.end()) layers.push_back({"2xx", "#009e73", ok->second});
  size_t color = 0;
  for (const auto& [outcome, v] : r.series.answers) {
    if (outcome == "ok") continue;
    if (++color == 2) ++color;  // green is 2xx's
    layers.push_back({outcome, palette(color), v});
  }
  chart_axes a{"Answers a second, by status",
               "seconds since the opening",
               "answers / s",
               s.x_min,
               s.x_max,
               0,
               s.answers_max};
  return svg_stacked_bars(a, r.series.start_s, 1, layers, instants(r));
}

std::string latency_chart(const run_result& r, size_t step, const scales& s) {
  std::vector<chart_line> lines;
  const auto& per_q = r.series.latency_ms[step];
  static const char* colors[] = {"#0072b2", "#e69f00", "#d55e00", "#777777"};
  for (size_t q = 0; q < per_q.size() && q < std::size(series_quantile_names); ++q)
    lines.push_back(
        {series_quantile_names[q], colors[q], second_midpoints(r, per_q[q].size()), per_q[q]});
  chart_axes a{"Latency of " + r.series.steps[step] + " (from when due), by the second answered",
               "seconds since the opening",
               "ms (log)",
               s.x_min,
               s.x_max,
               s.latency_min,
               s.latency_max,
               true};
  return svg_line_chart(a, lines, instants(r));
}

std::string ws_chart(const run_result& r, const scales& s) {
  std::vector<chart_line> lines;
  static const char* names[] = {"p50", "p99", "max"};
  for (size_t q = 0; q < r.series.ws_delay_ms.size() && q < 3; ++q)
    lines.push_back({names[q], palette(q == 2 ? 8 : q),
                     second_midpoints(r, r.series.ws_delay_ms[q].size()), r.series.ws_delay_ms[q]});
  chart_axes a{"WebSocket delivery delay (now - the message's at)",
               "seconds since the opening",
               "ms",
               s.x_min,
               s.x_max,
               0,
               s.ws_max};
  return svg_line_chart(a, lines, instants(r));
}

std::string verdict_html(const run_result& r) {
  const auto& au = r.audit;
  bool pass = au.complete && au.violations.empty();
  std::string s = std::string("<div class=\"verdict ") + (pass ? "pass" : "fail") + "\">";
  s += pass           ? "Audit passed: no violation"
       : !au.complete ? "Audit INCOMPLETE"
                      : "Audit FAILED: " + std::to_string(au.violations.size()) + " violation" +
                            (au.violations.size() == 1 ? "" : "s");
  s += " (" + std::to_string(au.orders) + " orders, " + std::to_string(au.units_sold) +
       " units sold)";
  if (!au.violations.empty() || !au.notes.empty()) {
    s += "<ul>";
    for (const auto& v : au.violations)
      s += "<li>VIOLATION " + escaped(v.kind) + ": " + escaped(v.detail) + "</li>";
    for (const auto& n : au.notes) s += "<li>note: " + escaped(n) + "</li>";
    s += "</ul>";
  }
  return s + "</div>";
}

std::string figure(const std::string& value, const std::string& label, bool warn = false) {
  return std::string("<div class=\"figure") + (warn ? " warn" : "") + "\"><b>" + escaped(value) +
         "</b><span>" + escaped(label) + "</span></div>";
}

std::string figures_html(const run_result& r) {
  std::string s = "<div class=\"figures\">";
  s += figure(r.sold_out_at_s ? fmt("%.2f s", *r.sold_out_at_s) : "no", "sold out after opening");
  s += figure(std::to_string(r.audit.units_sold) + " / " + std::to_string(r.units),
              "units sold / on hand");
  s += figure(fmt("%.2f%%", 100 * r.conversion()),
              "conversion (" + std::to_string(r.converted) + " paid)");
  for (const auto& st : r.steps)
    if (st.name == "add" || st.name == "order" || st.name == "pay")
      s += figure(fmt("%.1f ms", st.p99_ms), st.name + " p99");
  if (const auto& q = r.queue) {
    s += figure(std::to_string(q->admitted) + " / " + std::to_string(q->joined),
                "admitted / joined the queue (" + std::to_string(q->sold_out) + " sold out)");
    s += figure(fmt("%.1f ms", q->wait_p99_ms), "wait to admission p99");
    s += figure(q->sold_out_at_s ? fmt("%.2f s", *q->sold_out_at_s) : "no",
                "queue sold out after opening");
  }
  s += figure(fmt("%.1f ms", r.ws_p99_ms), "WebSocket delay p99");
  bool saturated = r.generator_lag_p99_ms > generator_lag_warn_ms;
  s += figure(fmt("%.1f ms", r.generator_lag_p99_ms),
              saturated ? "tool's lag p99: saturated" : "tool's lag p99", saturated);
  return s + "</div>";
}

std::string steps_table(const run_result& r) {
  std::string s =
      "<table><tr><th>step</th><th>count</th><th>ok</th><th>p50 ms</th><th>p90 ms</th>"
      "<th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th></tr>";
  for (const auto& st : r.steps) {
    std::string errors;
    for (const auto& [code, n] : st.errors) errors += escaped(code) + " " + std::to_string(n) + " ";
    s += "<tr><td>" + escaped(st.name) + "</td><td>" + std::to_string(st.count) + "</td><td>" +
         std::to_string(st.ok) + "</td><td>" + fmt("%.2f", st.p50_ms) + "</td><td>" +
         fmt("%.2f", st.p90_ms) + "</td><td>" + fmt("%.2f", st.p99_ms) + "</td><td>" +
         fmt("%.2f", st.p999_ms) + "</td><td>" + fmt("%.2f", st.max_ms) + "</td><td>" + errors +
         "</td></tr>";
  }
  return s + "</table>";
}

std::string config_table(const run_result& r) {
  std::string s = "<table>";
  s += "<tr><td>opened at</td><td>" + escaped(r.opened_at) + "</td></tr>";
  for (const auto& [k, v] : r.config)
    s += "<tr><td>" + escaped(k) + "</td><td>" + escaped(http::to_json_text(v)) + "</td></tr>";
  return s + "</table>";
}

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         escaped(title) + "</title><style>" + style + "</style></head><body>\n" + body +
         "\n</body></html>\n";
}

// Each chart of every run, a row a chart, a column a run.
std::string chart_rows(const std::vector<const run_result*>& runs) {
  scales s = scales_of(runs);
  auto row = [&](auto draw) {
    std::string out = "<div class=\"grid\">";
    for (const run_result* r : runs) out += "<div>" + draw(*r) + "</div>";
    return out + "</div>\n";
  };
  std::string out;
  if (runs.size() == 1) {  // one run: two charts a row
    const run_result& r = *runs[0];
    out += "<div class=\"grid\"><div>" + stock_chart(r, s) + "</div><div>" + requests_chart(r, s) +
           "</div></div>\n";
    out += "<div class=\"grid\"><div>" + answers_chart(r, s) + "</div><div>" + ws_chart(r, s) +
           "</div></div>\n";
    out += "<h2>Latency percentiles over time</h2><div class=\"grid\">";
    for (size_t i = 0; i < r.series.latency_ms.size(); ++i)
      out += "<div>" + latency_chart(r, i, s) + "</div>";
    return out + "</div>\n";
  }
  out += row([&](const run_result& r) { return stock_chart(r, s); });
  out += row([&](const run_result& r) { return requests_chart(r, s); });
  out += row([&](const run_result& r) { return answers_chart(r, s); });
  out += row([&](const run_result& r) { return ws_chart(r, s); });
  out += "<h2>Latency percentiles over time</h2>";
  for (size_t i = 0; i < runs[0]->series.steps.size(); ++i)
    out += row([&](const run_result& r) {
      for (size_t j = 0; j < r.series.steps.size(); ++j)
        if (r.series.steps[j] == runs[0]->series.steps[i]) return latency_chart(r, j, s);
      return std::string("<p>(no " + escaped(runs[0]->series.steps[i]) + " in this run)</p>");
    });
  return out;
}

}  // namespace

std::string report_html(const run_result& r) {
  std::string body = "<h1>Rehearsal of " + escaped(r.product) + ": " + std::to_string(r.shoppers) +
                     " shoppers for " + std::to_string(r.units) + " units</h1>\n";
  body += verdict_html(r) + figures_html(r) + chart_rows({&r});
  body += "<h2>Steps</h2>" + steps_table(r) + "<h2>Run</h2>" + config_table(r);
  return page("Rehearsal of " + r.product, body);
}

std::string compare_html(const run_result& a, const run_result& b, const std::string& a_name,
                         const std::string& b_name) {
  std::string body =
      "<h1>Rehearsals compared: " + escaped(a_name) + " | " + escaped(b_name) + "</h1>\n";
  body += "<div class=\"grid\"><div><h2>" + escaped(a_name) + "</h2>" + verdict_html(a) +
          figures_html(a) + "</div><div><h2>" + escaped(b_name) + "</h2>" + verdict_html(b) +
          figures_html(b) + "</div></div>\n";
  body += chart_rows({&a, &b});
  body += "<h2>Steps</h2><div class=\"grid\"><div>" + steps_table(a) + "</div><div>" +
          steps_table(b) + "</div></div>";
  body += "<h2>Runs</h2><div class=\"grid\"><div>" + config_table(a) + "</div><div>" +
          config_table(b) + "</div></div>";
  return page("Rehearsals compared", body);
}

bool write_text(const std::string& text, const std::string& path) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace stampede::load
