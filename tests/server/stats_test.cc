// The admin:stats figures: the latency windows' p99s and the message's shape (API.md).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/latency_window.h"
#include "server/stats_publisher.h"

namespace stampede::http {
namespace {

TEST(LatencyWindow, TheP99IsTheBucketUnderWhich99PercentFall) {
  latency_window w;
  for (int i = 0; i < 99; ++i) w.record(1.0);
  w.record(500);
  auto t = w.take();
  EXPECT_EQ(t.count, 100u);
  EXPECT_GE(t.p99_ms, 1.0);
  EXPECT_LT(t.p99_ms, 1.0 * latency_window::bucket_growth);
  for (int i = 0; i < 98; ++i) w.record(1.0);
  w.record(500);
  w.record(500);
  t = w.take();
  EXPECT_GE(t.p99_ms, 500);
  EXPECT_LT(t.p99_ms, 500 * latency_window::bucket_growth);
}

TEST(LatencyWindow, ATakeEmptiesTheWindow) {
  latency_window w;
  w.record(3);
  EXPECT_EQ(w.take().count, 1u);
  auto empty = w.take();
  EXPECT_EQ(empty.count, 0u);
  EXPECT_EQ(empty.p99_ms, 0);
}

TEST(LatencyWindow, ExtremesLandInTheFirstAndLastBuckets) {
  latency_window w;
  w.record(0);
  EXPECT_EQ(w.take().p99_ms, latency_window::upper_bound_ms(0));
  w.record(1e9);
  EXPECT_EQ(w.take().p99_ms, latency_window::upper_bound_ms(latency_window::buckets - 1));
  EXPECT_GT(latency_window::upper_bound_ms(latency_window::buckets - 1), 60'000);
}

TEST(StatsMessage, HasApiMdsShape) {
  stats_figures f;
  f.at_ms = 1'795'341'600'000;
  f.orders_per_s = 12.5;
  f.add_to_cart_p99_ms = 1.2;
  f.checkout_p99_ms = 4.4;
  f.ws_connections = 7;
  product_view p;
  p.id = "sku-1";
  p.on_hand = 300;
  p.reserved = 20;
  p.committed = 80;
  p.available = 200;
  f.products = {p};
  f.drops = {{"fall-drop", "open", 4000, 350}};
  auto m = boost::json::parse(stats_message(f)).as_object();
  EXPECT_EQ(m.at("type").as_string(), "stats");
  EXPECT_EQ(m.at("at").as_string(), "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(m.at("orders_per_s").as_double(), 12.5);
  EXPECT_EQ(m.at("add_to_cart_p99_ms").as_double(), 1.2);
  EXPECT_EQ(m.at("checkout_p99_ms").as_double(), 4.4);
  EXPECT_EQ(m.at("ws_connections").as_int64(), 7);
  EXPECT_EQ(boost::json::serialize(m.at("products")),
            R"([{"id":"sku-1","on_hand":300,"reserved":20,"committed":80,"available":200}])");
  EXPECT_EQ(boost::json::serialize(m.at("drops")),
            R"([{"id":"fall-drop","state":"open","waiting":4000,"admitted":350}])");
}

TEST(StatsMessage, ShowsEveryDropNotClosedTheLiveOnesFirst) {
  std::vector<stampede::drop_figures> all = {
      {"b-sold", drop_state::sold_out, 0, 40, 30, 2},
      {"c-open", drop_state::open, 1200, 60, 10, 0},
      {"a-closed", drop_state::closed, 0, 9, 9, 0},
      {"d-pending", drop_state::sold_out_pending, 300, 80, 70, 1},
      {"e-soon", drop_state::scheduled, 10, 0, 0, 0}};
  auto shown = drops_to_show(all);
  std::vector<std::string> order;
  for (const auto& d : shown) order.push_back(d.id + ":" + d.state);
  EXPECT_EQ(order, (std::vector<std::string>{"c-open:open", "d-pending:sold_out_pending",
                                             "e-soon:scheduled", "b-sold:sold_out"}));
  EXPECT_EQ(shown[0].waiting, 1200);
  EXPECT_EQ(shown[0].admitted, 60);
  std::vector<stampede::drop_figures> many;
  for (int i = 0; i < 80; ++i) many.push_back({"d" + std::to_string(100 + i), drop_state::open, i, 0, 0, 0});
  EXPECT_EQ(drops_to_show(many).size(), static_cast<size_t>(stats_drops_max));
}

}  // namespace
}  // namespace stampede::http
