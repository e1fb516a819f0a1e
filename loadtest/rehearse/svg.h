// Charts as inline SVG text for the rehearsal's HTML report, drawn by hand (no script, no
// font or file from outside): line charts with a linear or log y-axis, gaps where a series
// has no sample, vertical markers (the opening, the sold-out instant), and stacked bars.
// Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stampede::load {

struct chart_axes {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool log_y = false;
};

struct chart_line {
  std::string label;
  std::string color;
  std::vector<double> x, y;  // y < 0: no sample there (the line breaks)
  bool dashed = false;
};

struct chart_marker {
  double x = 0;
  std::string label;
  std::string color;
};

struct bar_layer {
  std::string label;
  std::string color;
  std::vector<double> values;  // one a bar
};

std::string svg_line_chart(const chart_axes& axes, const std::vector<chart_line>& lines,
                           const std::vector<chart_marker>& markers = {});
// Bars at x0, x0 + dx, ...; layers stacked in the order given.
std::string svg_stacked_bars(const chart_axes& axes, double x0, double dx,
                             const std::vector<bar_layer>& layers,
                             const std::vector<chart_marker>& markers = {});

// The n-th colour of a palette that stays distinct for the colour-blind.
const char* palette(size_t n);
// Text made safe for HTML and SVG.
std::string escaped(std::string_view text);
// A round number at or above v (1, 2 or 5 times a power of ten), for an axis's end.
double nice_ceiling(double v);

}  // namespace stampede::load
