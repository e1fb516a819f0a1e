// Admission at the door (api::refused_early, issue 9 "Overload"): while every shard refuses
// writes, a request for a write route is refused before its token or body is looked at,
// and counted as shed; reads, the checkout preview and unknown routes go on to the routes.
// Shard 0's thread is held busy while a message waits in its inbox past the engine's bound,
// so the engine refuses writes for as long as the test looks.
#include <future>
#include <optional>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/shard.h"
#include "core/write_queue.h"
#include "server/metrics.h"
#include "server/routes.h"

namespace stampede::http {
namespace {

engine_config one_shard_without_room() {
  engine_config c;
  c.shards = 1;
  c.run_timers = false;
  c.user_requests_per_s = 0;
  c.inbox_admission_max = 0;  // one waiting message is past the bound
  return c;
}

std::optional<std::string> refused_route(api& routes, std::string_view method, std::string_view target) {
  auto index = routes.refused_early(method, target);
  if (!index) return std::nullopt;
  const route& r = api::table()[*index];
  return std::string(r.method) + " " + r.pattern;
}

TEST(AdmissionAtTheDoor, RefusesWritesOnlyWhileEveryShardRefusesThem) {
  engine eng(one_shard_without_room());
  eng.start();
  server_settings settings;
  metrics m(api::route_names());
  api routes(eng, settings, eng.io(0).get_executor(), m, 0);
  EXPECT_FALSE(eng.writes_refused(steady_now_ns()));
  EXPECT_EQ(refused_route(routes, "POST", "/v1/cart/items"), std::nullopt);

  // Hold the shard; a read sent to it then waits in its inbox, past the bound.
  std::promise<void> release, holding;
  boost::asio::post(eng.io(0), [&holding, gate = release.get_future().share()] {
    holding.set_value();
    gate.wait();
  });
  holding.get_future().wait();
  std::promise<void> read_done;
  eng.get_product("sku", false, reply<product_view>(eng.io(0).get_executor(),
                                                    [&](result<product_view>) { read_done.set_value(); }));
  EXPECT_TRUE(eng.writes_refused(steady_now_ns()));
  EXPECT_EQ(refused_route(routes, "POST", "/v1/cart/items"), "POST /v1/cart/items");
  EXPECT_EQ(refused_route(routes, "DELETE", "/v1/cart/items/sku-1?x=1"), "DELETE /v1/cart/items/{}");
  EXPECT_EQ(refused_route(routes, "POST", "/v1/orders/ord_1/cancel"), "POST /v1/orders/{}/cancel");
  // Reads are never shed; nor is what is not a write route (its 404 or 405 comes as before).
  EXPECT_EQ(refused_route(routes, "GET", "/v1/products/sku-1"), std::nullopt);
  EXPECT_EQ(refused_route(routes, "POST", "/v1/checkout/preview"), std::nullopt);
  EXPECT_EQ(refused_route(routes, "POST", "/v1/no-such-route"), std::nullopt);
  EXPECT_EQ(refused_route(routes, "PUT", "/v1/cart/items"), std::nullopt);
  // Each refusal counts as shed, where /metrics and admin:stats read it.
  EXPECT_EQ(eng.shard_at(0).writes_shed_at_gate().load(), 3u);

  release.set_value();
  read_done.get_future().wait();
  eng.stop();
}

}  // namespace
}  // namespace stampede::http
