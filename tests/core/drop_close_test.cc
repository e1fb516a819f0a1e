// A drop's close answers only once its products' shards have freed them, so a drop created
// after the answer may take them (API.md, "Drops": a product is in at most one drop that
// has not closed). Found under TSan in server.drops: a close answered 200, and the next
// drop with its product was refused 409, its claim having reached the product's shard
// before the close's release did.
#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

class DropClose : public ::testing::Test, public testing::engine_fixture {
 protected:
  DropClose() : engine_fixture(2) { EXPECT_TRUE(create(sku, 5).ok()); }
  drop_definition queue_drop(const std::string& id) {
    drop_definition d;
    d.id = id;
    d.product_ids = {sku};
    d.opens_at_ms = clock_.now_ms() + 60'000;
    return d;
  }
  result<drop_view> create_drop(const std::string& id) {
    return call<drop_view>([&](auto done) { engine_.create_drop(queue_drop(id), std::move(done)); });
  }
  // The drops live on shard 0, their product on shard 1.
  const std::string sku = product_on(1);
  const std::string first = product_on(0, "drop-a");
  const std::string second = product_on(0, "drop-b");
};

TEST_F(DropClose, AnswersOnceItsProductIsFreeForTheNextDrop) {
  ASSERT_TRUE(create_drop(first).ok());
  auto refused = create_drop(second);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), error_code::conflict);

  // The product's shard is held busy, so the close's release cannot reach it yet ...
  auto held = hold_shard(1);
  auto closed = call_later<drop_view>(
      [&](auto done) { engine_.command_drop(first, drop_command::close, std::move(done)); });
  passes_done(0);
  passes_done(0);
  EXPECT_FALSE(ready(closed)) << "the close answered before its product was free";
  held->release();

  // ... and once answered, a new drop may take the product.
  auto c = closed.get();
  ASSERT_TRUE(c.ok());
  auto again = create_drop(second);
  EXPECT_TRUE(again.ok()) << (again.ok() ? "" : again.err().message);
}

}  // namespace
}  // namespace stampede
