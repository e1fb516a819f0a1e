#include "loadtest/rehearse/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace stampede::load {

namespace {

// The chart's size and the room its axes take, in SVG units (CSS pixels).
constexpr double width = 600, height = 250;
constexpr double left = 58, right = 12, top = 40, bottom = 34;
constexpr int ticks_wanted = 5;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  double a = std::fabs(v);
  if (a < 1e-9) return "0";  // not "-0" from a sum that landed just below zero
  if (a >= 1e6)
    std::snprintf(b, sizeof b, "%.3gM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(b, sizeof b, "%.3gk", v / 1e3);
  else
    std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

double nice_step(double range) {
  double raw = range / ticks_wanted;
  if (raw <= 0) return 1;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

struct frame {
  const chart_axes& a;
  double lo_y() const { return a.log_y ? std::log10(std::max(a.y_min, 1e-9)) : a.y_min; }
  double hi_y() const { return a.log_y ? std::log10(std::max(a.y_max, a.y_min * 10)) : a.y_max; }
  double px(double x) const {
    double span = a.x_max > a.x_min ? a.x_max - a.x_min : 1;
    return left + (x - a.x_min) / span * (width - left - right);
  }
  double py(double y) const {
    double v = a.log_y ? std::log10(std::max(y, a.y_min)) : y;
    double span = hi_y() > lo_y() ? hi_y() - lo_y() : 1;
    double f = std::clamp((v - lo_y()) / span, 0.0, 1.0);
    return height - bottom - f * (height - top - bottom);
  }
};

// The frame: title, axes, grid, tick labels and axis names.
std::string axes_svg(const frame& f) {
  const chart_axes& a = f.a;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(width) + " " +
                  num(height) + "\" class=\"chart\" role=\"img\"><title>" + escaped(a.title) +
                  "</title>";
  s += "<text x=\"" + num(left) + "\" y=\"16\" class=\"t\">" + escaped(a.title) + "</text>";
  std::vector<double> ys;
  if (a.log_y) {
    for (double e = std::floor(f.lo_y()); e <= std::ceil(f.hi_y()) + 1e-9; ++e)
      ys.push_back(std::pow(10.0, e));
  } else {
    double step = nice_step(a.y_max - a.y_min);
    for (double y = std::ceil(a.y_min / step) * step; y <= a.y_max + step * 1e-9; y += step)
      ys.push_back(y);
  }
  for (double y : ys) {
    if (y < a.y_min * (1 - 1e-9) || y > a.y_max * (1 + 1e-9)) continue;
    s += "<line x1=\"" + num(left) + "\" x2=\"" + num(width - right) + "\" y1=\"" + num(f.py(y)) +
         "\" y2=\"" + num(f.py(y)) + "\" class=\"g\"/><text x=\"" + num(left - 4) + "\" y=\"" +
         num(f.py(y) + 3) + "\" class=\"yl\">" + tick_label(y) + "</text>";
  }
  double step = nice_step(a.x_max - a.x_min);
  for (double x = std::ceil(a.x_min / step) * step; x <= a.x_max + step * 1e-9; x += step)
    s += "<text x=\"" + num(f.px(x)) + "\" y=\"" + num(height - bottom + 13) + "\" class=\"xl\">" +
         tick_label(x) + "</text>";
  s += "<line x1=\"" + num(left) + "\" x2=\"" + num(width - right) + "\" y1=\"" +
       num(height - bottom) + "\" y2=\"" + num(height - bottom) + "\" class=\"ax\"/><line x1=\"" +
       num(left) + "\" x2=\"" + num(left) + "\" y1=\"" + num(top) + "\" y2=\"" +
       num(height - bottom) + "\" class=\"ax\"/>";
  s += "<text x=\"" + num((left + width - right) / 2) + "\" y=\"" + num(height - 4) +
       "\" class=\"xn\">" + escaped(a.x_label) + "</text>";
  s += "<text x=\"12\" y=\"" + num((top + height - bottom) / 2) +
       "\" class=\"yn\" transform=\"rotate(-90 12 " + num((top + height - bottom) / 2) + ")\">" +
       escaped(a.y_label) + "</text>";
  return s;
}

std::string legend_svg(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string s;
  double x = left;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [label, color] = items[i];
    s += "<rect x=\"" + num(x) + "\" y=\"24\" width=\"10\" height=\"10\" fill=\"" + color + "\"/>";
    s += "<text x=\"" + num(x + 13) + "\" y=\"33\" class=\"lg\">" + escaped(label) + "</text>";
    x += 22 + 6.2 * static_cast<double>(label.size());
  }
  return s;
}

std::string markers_svg(const frame& f, const std::vector<chart_marker>& markers) {
  std::string s;
  for (const auto& m : markers) {
    if (m.x < f.a.x_min || m.x > f.a.x_max) continue;
    double x = f.px(m.x);
    s += "<line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(top) + "\" y2=\"" +
         num(height - bottom) + "\" stroke=\"" + m.color +
         "\" stroke-dasharray=\"4 3\" stroke-width=\"1.2\"/>";
    s += "<text x=\"" + num(x + 3) + "\" y=\"" + num(top + 10) + "\" class=\"mk\" fill=\"" +
         m.color + "\">" + escaped(m.label) + "</text>";
  }
  return s;
}

}  // namespace

std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const char* palette(size_t n) {
  static const char* colors[] = {"#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7",
                                 "#56b4e9", "#8c6d31", "#000000", "#999999", "#f0e442"};
  return colors[n % std::size(colors)];
}

double nice_ceiling(double v) {
  if (v <= 0) return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (v <= m * p * (1 + 1e-12)) return m * p;
  return 10 * p;
}

std::string svg_line_chart(const chart_axes& axes, const std::vector<chart_line>& lines,
                           const std::vector<chart_marker>& markers) {
  frame f{axes};
  std::string s = axes_svg(f);
  std::vector<std::pair<std::string, std::string>> legend;
  for (const auto& l : lines) {
    legend.emplace_back(l.label, l.color);
    std::string d, dots;
    size_t run = 0;  // points in the current stretch without a gap
    auto close_run = [&](size_t i) {
      if (run == 1)  // a lone sample draws no line: a dot instead
        dots += "<circle cx=\"" + num(f.px(l.x[i])) + "\" cy=\"" + num(f.py(l.y[i])) +
                "\" r=\"2.5\" fill=\"" + l.color + "\"/>";
      run = 0;
    };
    size_t last = 0;
    for (size_t i = 0; i < l.x.size() && i < l.y.size(); ++i) {
      if (l.y[i] < 0 || (axes.log_y && l.y[i] <= 0)) {
        close_run(last);
        continue;
      }
      d += (run ? "L" : "M") + num(f.px(l.x[i])) + " " + num(f.py(l.y[i])) + " ";
      ++run;
      last = i;
    }
    close_run(last);
    if (!d.empty())
      s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"1.6\"" +
           (l.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>";
    s += dots;
  }
  s += markers_svg(f, markers) + legend_svg(legend) + "</svg>";
  return s;
}

std::string svg_stacked_bars(const chart_axes& axes, double x0, double dx,
                             const std::vector<bar_layer>& layers,
                             const std::vector<chart_marker>& markers) {
  frame f{axes};
  std::string s = axes_svg(f);
  size_t bars = 0;
  for (const auto& l : layers) bars = std::max(bars, l.values.size());
  double bar_width = std::max(1.0, f.px(x0 + dx) - f.px(x0) - 1);
  std::vector<double> base(bars, 0);
  std::vector<std::pair<std::string, std::string>> legend;
  for (const auto& l : layers) {
    legend.emplace_back(l.label, l.color);
    for (size_t i = 0; i < l.values.size(); ++i) {
      if (l.values[i] <= 0) continue;
      double x = x0 + dx * static_cast<double>(i);
      if (x < axes.x_min || x + dx > axes.x_max + dx * 1e-9) continue;
      double y_low = f.py(base[i]), y_high = f.py(base[i] + l.values[i]);
      base[i] += l.values[i];
      s += "<rect x=\"" + num(f.px(x)) + "\" y=\"" + num(y_high) + "\" width=\"" + num(bar_width) +
           "\" height=\"" + num(std::max(0.5, y_low - y_high)) + "\" fill=\"" + l.color + "\"/>";
    }
  }
  s += markers_svg(f, markers) + legend_svg(legend) + "</svg>";
  return s;
}

}  // namespace stampede::load
