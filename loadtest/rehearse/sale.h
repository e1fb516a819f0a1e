// The live part of a rehearsal, on one thread's io_context: watchers follow the product on
// the WebSocket from before the opening, shoppers arrive and walk their journeys, a monitor
// samples the product's stock through the admin API, and a progress line says how it goes.
// When every journey has ended (or the deadline passed) it waits for the last coalesced
// availability and compares each watcher's last value with the server's (watchers.h: a
// dropped watcher reconnects, and only its view since is compared). run() returns when
// all of that is over; the getters are for the audit and the report afterwards.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "loadtest/rehearse/journey.h"
#include "loadtest/rehearse/result.h"
#include "loadtest/rehearse/setup.h"
#include "loadtest/rehearse/watchers.h"
#include "loadtest/run_stats.h"

namespace stampede::load {

class sale {
 public:
  // Stock samples a second, for the chart and the progress line.
  static constexpr std::chrono::milliseconds monitor_period{250};
  // After the last journey ends: the wait before the watchers are compared (availability is
  // coalesced to 10 a second), and the re-checks while a change may still be on its way.
  static constexpr std::chrono::milliseconds settle{1000};
  static constexpr std::chrono::milliseconds recheck_period{500};
  static constexpr int rechecks_max = 4;
  // Shopper connections opened before the opening.
  static constexpr size_t prewarm_connections = 64;
  // The gateway's own connections, for the payment webhooks.
  static constexpr size_t gateway_connections = 8;

  sale(const rehearse_options& o, const sale_setup& s);
  ~sale();
  sale(const sale&) = delete;
  sale& operator=(const sale&) = delete;

  void run();

  const run_stats& stats() const { return stats_; }
  const run_stats& ws_stats() const { return ws_stats_; }
  const journey_counts& counts() const { return journeys_->counts(); }
  const std::vector<acknowledged_order>& ledger() const { return journeys_->ledger(); }
  const std::vector<stock_sample>& stock() const { return stock_; }
  // Availability as the WebSocket pushed it: (seconds since the opening by its `at`, value).
  const std::vector<std::pair<double, int64_t>>& pushed() const { return pushed_; }
  const watcher_report& watchers() const { return report_; }
  std::optional<double> sold_out_at_s() const { return sold_out_at_s_; }
  double duration_s() const { return duration_s_; }
  // The generator itself: how late its loop ran, and the CPU it used.
  const latency_histogram& loop_lateness() const { return lag_.lateness(); }
  double cpu_s() const { return cpu_s_; }

 private:
  void on_availability(const boost::json::object& message);
  void sample_stock();
  void on_tick();
  void progress(steady::time_point now);
  void check_watchers(int attempt);
  void finish();
  void saw_sold_out(double t_s);

  const rehearse_options& o_;
  const sale_setup& setup_;
  asio::io_context io_{1};
  steady::time_point opening_;
  run_stats stats_, ws_stats_;
  std::unique_ptr<http_pool> shop_, gateway_, monitor_;
  std::unique_ptr<scheduler> sched_;
  std::unique_ptr<journeys> journeys_;
  std::unique_ptr<watcher_set> watchers_;
  asio::steady_timer tick_, monitor_timer_;
  loop_lag lag_{io_};
  double cpu_s_ = 0;
  std::vector<stock_sample> stock_;
  std::vector<std::pair<double, int64_t>> pushed_;
  watcher_report report_;
  std::optional<double> sold_out_at_s_;
  double duration_s_ = 0;
  bool settling_ = false;
  int ticks_ = 0;
};

}  // namespace stampede::load
