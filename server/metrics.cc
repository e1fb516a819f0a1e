#include "server/metrics.h"

#include <chrono>
#include <cstdio>

#include "persistence/stats.h"

#include "core/engine.h"
#include "core/order.h"

namespace stampede::http {

size_t metrics::status_slot(unsigned status) {
  for (size_t i = 0; i < statuses.size(); ++i)
    if (statuses[i] == status) return i;
  return statuses.size() - 1;  // "other"
}

metrics::metrics(std::vector<std::string> route_names) : names_(std::move(route_names)) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == "POST /v1/cart/items") add_to_cart_route_ = i;
    if (names_[i] == "POST /v1/orders") checkout_route_ = i;
  }
}

void metrics::observe(size_t route, unsigned status, double latency_ms) {
  if (route >= routes_max) route = routes_max - 1;
  if (route == add_to_cart_route_) add_to_cart_latency.record(latency_ms);
  if (route == checkout_route_) checkout_latency.record(latency_ms);
  requests_[route][status_slot(status)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < latency_buckets_ms.size() && latency_ms > latency_buckets_ms[b]) ++b;
  latency_[b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<uint64_t>(latency_ms * 1000), std::memory_order_relaxed);
}

namespace {

// Drops: each one's queue depth and counts since creation, and the store's totals.
void render_drops(std::string& out, const store_stats& store) {
  struct family {
    const char* name;
    const char* help;
    const char* type;
    int64_t drop_figures::*field;
  };
  const family families[] = {
      {"stampede_drop_queue_depth", "Waiting tickets of a drop.", "gauge", &drop_figures::waiting},
      {"stampede_drop_admitted_total", "Shoppers a drop admitted.", "counter", &drop_figures::admitted},
      {"stampede_drop_converted_total", "Admitted shoppers (or winners) who ordered.", "counter",
       &drop_figures::converted},
      {"stampede_drop_expired_total", "Tickets and admissions that expired unused.", "counter",
       &drop_figures::expired},
  };
  int64_t admissions = 0, conversions = 0, expired = 0;
  for (const auto& d : store.drops) {
    admissions += d.admitted;
    conversions += d.converted;
    expired += d.expired;
  }
  for (const auto& f : families) {
    out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& d : store.drops)
      out += std::string(f.name) + "{drop=\"" + d.id + "\"} " + std::to_string(d.*f.field) + "\n";
  }
  out += "# HELP stampede_drop_admissions_total Shoppers every drop admitted.\n"
         "# TYPE stampede_drop_admissions_total counter\nstampede_drop_admissions_total " +
         std::to_string(admissions) + "\n";
  out += "# HELP stampede_drop_conversions_total Admitted shoppers and winners who ordered.\n"
         "# TYPE stampede_drop_conversions_total counter\nstampede_drop_conversions_total " +
         std::to_string(conversions) + "\n";
  out += "# HELP stampede_drop_tickets_expired_total Tickets and admissions that expired.\n"
         "# TYPE stampede_drop_tickets_expired_total counter\nstampede_drop_tickets_expired_total " +
         std::to_string(expired) + "\n";
}

}  // namespace

// The exposition, in sections: each appends its metrics to `out`.
std::string metrics::render(engine& eng, const store_stats& store) const {
  std::string out;
  render_http(out);
  render_store(out, eng, store);
  render_drops(out, store);
  render_durability(out);
  render_shedding_and_delivery(out, store);
  return out;
}

void metrics::render_http(std::string& out) const {
  char line[256];
  out += "# HELP stampede_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE stampede_http_requests_total counter\n";
  for (size_t r = 0; r < routes_max; ++r) {
    const std::string& name = r < names_.size() ? names_[r] : (r == routes_max - 1 ? "unmatched" : "");
    if (name.empty()) continue;
    for (size_t s = 0; s < statuses.size(); ++s) {
      uint64_t n = requests_[r][s].load(std::memory_order_relaxed);
      if (!n) continue;
      std::snprintf(line, sizeof line, "stampede_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                    name.c_str(), statuses[s] ? std::to_string(statuses[s]).c_str() : "other",
                    static_cast<unsigned long long>(n));
      out += line;
    }
  }
  out += "# HELP stampede_http_request_duration_seconds Time from request read to response queued.\n";
  out += "# TYPE stampede_http_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= latency_buckets_ms.size(); ++b) {
    cumulative += latency_[b].load(std::memory_order_relaxed);
    if (b < latency_buckets_ms.size()) {
      std::snprintf(line, sizeof line, "stampede_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    latency_buckets_ms[b] / 1000, static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(line, sizeof line, "stampede_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                    static_cast<unsigned long long>(cumulative));
    }
    out += line;
  }
  std::snprintf(line, sizeof line, "stampede_http_request_duration_seconds_sum %g\nstampede_http_request_duration_seconds_count %llu\n",
                static_cast<double>(latency_sum_us_.load(std::memory_order_relaxed)) / 1e6,
                static_cast<unsigned long long>(cumulative));
  out += line;
}

void metrics::render_store(std::string& out, engine& eng, const store_stats& store) const {
  char line[256];
  out += "# HELP stampede_shard_inbox_depth Messages waiting in each shard's inbox.\n";
  out += "# TYPE stampede_shard_inbox_depth gauge\n";
  for (uint32_t i = 0; i < eng.shard_count(); ++i) {
    std::snprintf(line, sizeof line, "stampede_shard_inbox_depth{shard=\"%u\"} %lld\n", i,
                  static_cast<long long>(eng.inbox_depth(i)));
    out += line;
  }
  auto gauge = [&](const char* name, const char* help, int64_t value) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name,
                  name, static_cast<long long>(value));
    out += line;
  };
  gauge("stampede_products", "Products in the catalog, active or not.", store.products);
  gauge("stampede_reserved_units", "Units held by carts (reserved).", store.reserved_units);
  gauge("stampede_committed_units", "Units in orders that are not canceled.", store.committed_units);
  gauge("stampede_carts_holding", "Carts with a live hold.", store.carts_holding);
  out += "# HELP stampede_orders Orders by status.\n# TYPE stampede_orders gauge\n";
  for (size_t i = 0; i < store.orders_by_status.size(); ++i) {
    std::snprintf(line, sizeof line, "stampede_orders{status=\"%s\"} %lld\n",
                  std::string(to_string(static_cast<order_status>(i))).c_str(),
                  static_cast<long long>(store.orders_by_status[i]));
    out += line;
  }
  gauge("stampede_ws_connections", "Open WebSocket connections.", ws_connections.load());
}

void metrics::render_durability(std::string& out) const {
  char line[256];
  const auto& d = wal::durability();
  out += "# HELP stampede_wal_records_appended_total Effects appended to the write-ahead logs.\n"
         "# TYPE stampede_wal_records_appended_total counter\n";
  std::snprintf(line, sizeof line, "stampede_wal_records_appended_total %llu\n",
                static_cast<unsigned long long>(d.records_appended.load()));
  out += line;
  out += "# HELP stampede_wal_bytes_written_total Bytes written to the write-ahead logs.\n"
         "# TYPE stampede_wal_bytes_written_total counter\n";
  std::snprintf(line, sizeof line, "stampede_wal_bytes_written_total %llu\n",
                static_cast<unsigned long long>(d.bytes_written.load()));
  out += line;
  out += "# HELP stampede_wal_fsync_duration_seconds fdatasync latency of the write-ahead logs.\n"
         "# TYPE stampede_wal_fsync_duration_seconds histogram\n";
  uint64_t synced = 0;
  for (size_t i = 0; i <= d.sync_buckets_us.size(); ++i) {
    synced += d.sync_le[i].load();
    if (i < d.sync_buckets_us.size()) {
      std::snprintf(line, sizeof line, "stampede_wal_fsync_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    static_cast<double>(d.sync_buckets_us[i]) / 1e6, static_cast<unsigned long long>(synced));
    } else {
      std::snprintf(line, sizeof line, "stampede_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                    static_cast<unsigned long long>(synced));
    }
    out += line;
  }
  std::snprintf(line, sizeof line,
                "stampede_wal_fsync_duration_seconds_sum %.6f\nstampede_wal_fsync_duration_seconds_count %llu\n",
                static_cast<double>(d.sync_us_total.load()) / 1e6, static_cast<unsigned long long>(d.syncs.load()));
  out += line;
  int64_t last = d.last_snapshot_unix_ms.load();
  if (last > 0) {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    out += "# HELP stampede_snapshot_age_seconds Seconds since the last snapshot was written.\n"
           "# TYPE stampede_snapshot_age_seconds gauge\n";
    std::snprintf(line, sizeof line, "stampede_snapshot_age_seconds %.3f\n", static_cast<double>(now - last) / 1e3);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "# HELP stampede_snapshots_total Snapshot rounds written.\n# TYPE stampede_snapshots_total counter\n"
                "stampede_snapshots_total %llu\n",
                static_cast<unsigned long long>(d.snapshots.load()));
  out += line;
}

void metrics::render_shedding_and_delivery(std::string& out, const store_stats& store) const {
  char line[256];
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
                  name, name, static_cast<unsigned long long>(value));
    out += line;
  };
  // Admission control of writes (core/write_gate.h), by why a write was refused unrun.
  out += "# HELP stampede_writes_shed_total Client writes answered 503 overloaded without running.\n"
         "# TYPE stampede_writes_shed_total counter\n";
  const std::pair<const char*, int64_t> shed[] = {{"queue_time", store.writes_shed},
                                                  {"deadline", store.writes_late},
                                                  {"client_gone", store.writes_gone},
                                                  {"queue_full", store.writes_full}};
  for (const auto& [reason, n] : shed) {
    std::snprintf(line, sizeof line, "stampede_writes_shed_total{reason=\"%s\"} %lld\n", reason,
                  static_cast<long long>(n));
    out += line;
  }
  counter("stampede_ws_messages_sent_total", "WebSocket messages written.", ws_messages_sent.load());
  counter("stampede_ws_messages_replaced_total",
          "Unsent WebSocket messages replaced by a newer state of the same thing.",
          ws_messages_replaced.load());
  counter("stampede_ws_messages_dropped_total",
          "Unsent WebSocket messages dropped past a slow connection's queue bound.",
          ws_messages_dropped.load());
  counter("stampede_webhook_deliveries_total", "Webhook events acknowledged by a receiver.",
          webhook_delivered.load());
  counter("stampede_webhook_failed_attempts_total",
          "Webhook POSTs that failed (error, timeout or non-2xx) and will be retried.",
          webhook_failed_attempts.load());
  counter("stampede_webhook_given_up_total", "Webhook events dropped past the retry window.",
          webhook_given_up.load());
  counter("stampede_webhook_breaker_opened_total",
          "Times a failing receiver's circuit breaker opened (nothing is sent to it for a while).",
          webhook_breaker_opened.load());
}

}  // namespace stampede::http
