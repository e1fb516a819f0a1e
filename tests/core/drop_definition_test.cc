#include "core/drop_definition.h"

#include <gtest/gtest.h>

#include "tests/core/drop_fixture.h"

namespace stampede {
namespace {

using testing::draw_drop;
using testing::queue_drop;
using testing::t0_ms;

// The field a refused definition names.
std::string refused_field(const drop_definition& d) {
  auto e = validate(d, t0_ms);
  if (!e) return "";
  EXPECT_EQ(e->code, error_code::invalid_request);
  return e->details.field.value_or("?");
}

TEST(DropDefinition, AQueueAndADrawWithDefaultsAreValid) {
  EXPECT_EQ(refused_field(queue_drop()), "");
  EXPECT_EQ(refused_field(draw_drop()), "");
}

TEST(DropDefinition, ADrawMustCloseAfterItOpensAndInTheFuture) {
  drop_definition d = draw_drop("raffle", 60'000, 60'000);
  EXPECT_EQ(refused_field(d), "draw_closes_at");
  d = draw_drop("raffle", 60'000, 30'000);
  EXPECT_EQ(refused_field(d), "draw_closes_at");
  d = draw_drop("raffle", -120'000, -60'000);
  EXPECT_EQ(refused_field(d), "draw_closes_at");
  d = draw_drop();
  d.draw_closes_at_ms.reset();
  EXPECT_EQ(refused_field(d), "draw_closes_at");
}

TEST(DropDefinition, DrawClosesAtIsForDrawsOnly) {
  drop_definition d = queue_drop();
  d.draw_closes_at_ms = d.opens_at_ms + 1000;
  EXPECT_EQ(refused_field(d), "draw_closes_at");
}

TEST(DropDefinition, IdsProductsAndBoundsAreChecked) {
  drop_definition d = queue_drop("bad id!");
  EXPECT_EQ(refused_field(d), "id");
  d = queue_drop();
  d.product_ids.clear();
  EXPECT_EQ(refused_field(d), "product_ids");
  d.product_ids = {"sku-1", "sku-1"};
  EXPECT_EQ(refused_field(d), "product_ids");
  d.product_ids = std::vector<std::string>(21, "x");
  for (size_t i = 0; i < d.product_ids.size(); ++i) d.product_ids[i] += std::to_string(i);
  EXPECT_EQ(refused_field(d), "product_ids");
  d = queue_drop();
  d.opens_at_ms = 0;
  EXPECT_EQ(refused_field(d), "opens_at");
  d = queue_drop("fall", limits::drop_schedule_horizon_ms + 1);
  EXPECT_EQ(refused_field(d), "opens_at");
  d = queue_drop();
  d.admit_per_s = 0;
  EXPECT_EQ(refused_field(d), "admit_per_s");
  d.admit_per_s = limits::drop_admit_per_s_max + 1;
  EXPECT_EQ(refused_field(d), "admit_per_s");
  d = queue_drop();
  d.admission_ttl_s = 9;
  EXPECT_EQ(refused_field(d), "admission_ttl");
  d = queue_drop();
  d.overbook_permille = -1;
  EXPECT_EQ(refused_field(d), "overbook");
  d.overbook_permille = limits::drop_overbook_permille_max + 1;
  EXPECT_EQ(refused_field(d), "overbook");
}

TEST(DropDefinition, ADropAlreadyOpenMayStillBeCreated) {
  // opens_at in the past: the drop opens at its first tick.
  EXPECT_EQ(refused_field(queue_drop("now", -1000)), "");
}

TEST(DropBook, ASecondDropWithTheSameIdIsAConflict) {
  testing::drop_recorder r;
  r.create(queue_drop());
  auto e = r.book.check_create(queue_drop(), t0_ms);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, error_code::conflict);
}

}  // namespace
}  // namespace stampede
