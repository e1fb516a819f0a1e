// A drop's close answers only once its products' shards have freed them, so a drop created
// after the answer may take them (API.md, "Drops": a product is in at most one drop that
// has not closed). Found under TSan in server.drops: a close answered 200, and the next
// drop with its product was refused 409, its claim having reached the product's shard
// before the close's release did. The same holds for a creation refused 409: its claims of
// the other products are undone before it answers.
#include <gtest/gtest.h>

#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

class DropClose : public ::testing::Test, public testing::engine_fixture {
 protected:
  DropClose() : engine_fixture(3) {
    EXPECT_TRUE(create(sku, 5).ok());
    EXPECT_TRUE(create(spare, 5).ok());
  }
  drop_definition queue_drop(const std::string& id, std::vector<std::string> products) {
    drop_definition d;
    d.id = id;
    d.product_ids = std::move(products);
    d.opens_at_ms = clock_.now_ms() + 60'000;
    return d;
  }
  result<drop_view> create_drop(const std::string& id, std::vector<std::string> products) {
    return call<drop_view>([&](auto done) {
      engine_.create_drop(queue_drop(id, std::move(products)), std::move(done));
    });
  }
  // The drops live on shard 0, their products on shards 1 and 2.
  const std::string sku = product_on(1);
  const std::string spare = product_on(2);
  const std::string first = product_on(0, "drop-a");
  const std::string second = product_on(0, "drop-b");
  const std::string third = product_on(0, "drop-c");
};

TEST_F(DropClose, AnswersOnceItsProductIsFreeForTheNextDrop) {
  ASSERT_TRUE(create_drop(first, {sku}).ok());
  auto refused = create_drop(second, {sku});
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
  auto again = create_drop(second, {sku});
  EXPECT_TRUE(again.ok()) << (again.ok() ? "" : again.err().message);
}

TEST_F(DropClose, ARefusedCreationAnswersOnceItsOtherClaimsAreUndone) {
  ASSERT_TRUE(create_drop(first, {sku}).ok());
  // `second` claims `spare` (granted) and `sku` (refused: it is in `first`). Its refusal is
  // held back until `spare`'s shard has granted, then that shard is held: the claim's undo
  // cannot land there yet.
  auto held_sku = hold_shard(1);
  auto created = call_later<drop_view>([&](auto done) {
    engine_.create_drop(queue_drop(second, {spare, sku}), std::move(done));
  });
  passes_done(0);
  passes_done(2);
  auto held_spare = hold_shard(2);
  held_sku->release();
  passes_done(1);
  passes_done(0);
  passes_done(0);
  EXPECT_FALSE(ready(created)) << "the refusal answered before its claim of " << spare
                               << " was undone";
  held_spare->release();
  auto refused = created.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), error_code::conflict);
  // ... and once answered, the product it did not get is free for the next drop.
  auto again = create_drop(third, {spare});
  EXPECT_TRUE(again.ok()) << (again.ok() ? "" : again.err().message);
}

}  // namespace
}  // namespace stampede
