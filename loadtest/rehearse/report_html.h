// The rehearsal's HTML report: one self-contained file (inline CSS and SVG; no script, font
// or image from outside) with the audit's verdict at the top, the key figures, available
// stock over time with the opening and sold-out instants marked, requests a second by step,
// answers a second by status, latency percentiles over time per step, WebSocket delivery
// delay, and the per-step table. --compare draws two runs side by side on shared scales.
// Pure functions of the results; the caller's thread.
#pragma once

#include <string>

#include "loadtest/rehearse/result.h"

namespace stampede::load {

std::string report_html(const run_result& r);
std::string compare_html(const run_result& a, const run_result& b, const std::string& a_name,
                         const std::string& b_name);
bool write_text(const std::string& text, const std::string& path);

}  // namespace stampede::load
