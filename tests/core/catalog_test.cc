#include "core/catalog.h"
#include "core/limits.h"

#include <gtest/gtest.h>

namespace stampede {
namespace {

constexpr int64_t now = 1'800'000'000'000;

product_create sneaker(std::string id = "sku-1", int64_t on_hand = 10) {
  product_create c;
  c.id = std::move(id);
  c.name = "Limited Sneaker";
  c.price = 12999;
  c.on_hand = on_hand;
  return c;
}

stock_ask take(std::string id, int64_t units, int64_t already = 0) {
  return stock_ask{std::move(id), units, true, units, already};
}

TEST(Catalog, CreateShowsEveryFieldAndTheStock) {
  catalog c;
  auto p = c.create(sneaker());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->id, "sku-1");
  EXPECT_EQ(p->price, 12999);
  EXPECT_EQ(p->on_hand, 10);
  EXPECT_EQ(p->available, 10);
  EXPECT_TRUE(p->active);
}

TEST(Catalog, CreatingAnExistingIdIsAConflict) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker()).ok());
  auto again = c.create(sneaker());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), error_code::conflict);
}

TEST(Catalog, BadFieldsAreInvalidRequests) {
  catalog c;
  auto bad_id = sneaker("no spaces allowed");
  auto no_name = sneaker();
  no_name.name = "";
  auto negative_price = sneaker();
  negative_price.price = -1;
  auto negative_stock = sneaker();
  negative_stock.on_hand = -5;
  auto backwards_window = sneaker();
  backwards_window.sale_starts_at_ms = now;
  backwards_window.sale_ends_at_ms = now - 1;
  for (const auto& bad : {bad_id, no_name, negative_price, negative_stock, backwards_window}) {
    auto r = c.create(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), error_code::invalid_request);
  }
  EXPECT_EQ(c.size(), 0u);
}

TEST(Catalog, PatchChangesOnlyTheFieldsGiven) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker()).ok());
  product_patch p;
  p.price = 9999;
  auto r = c.patch("sku-1", p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->price, 9999);
  EXPECT_EQ(r->name, "Limited Sneaker");
  EXPECT_EQ(r->on_hand, 10);
}

TEST(Catalog, PatchingOnHandBelowReservedPlusCommittedIsAConflictAndChangesNothing) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker()).ok());
  ASSERT_FALSE(c.decide(take("sku-1", 6), now).refused);
  product_patch p;
  p.on_hand = 5;
  p.price = 1;
  auto r = c.patch("sku-1", p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::conflict);
  EXPECT_EQ(c.find("sku-1")->price, 12999);
  EXPECT_EQ(c.find("sku-1")->units.on_hand(), 10);
}

TEST(Catalog, AdjustAddsAndRemovesUnitsWithTheSameRule) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker()).ok());
  EXPECT_EQ(c.adjust("sku-1", 50)->on_hand, 60);
  ASSERT_FALSE(c.decide(take("sku-1", 55), now).refused);
  auto r = c.adjust("sku-1", -10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::conflict);
  EXPECT_EQ(c.adjust("sku-1", -5)->on_hand, 55);
  // Removing more than there is at all is the same conflict, not a range error.
  auto more = c.adjust("sku-1", -100);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.code(), error_code::conflict);
  // A delta past the bound, or on_hand past it, is a bad field.
  EXPECT_EQ(c.adjust("sku-1", -2'000'000'000).code(), error_code::invalid_request);
  EXPECT_EQ(c.adjust("sku-1", limits::on_hand_max).code(), error_code::invalid_request);
  EXPECT_EQ(c.adjust("sku-1", 0)->on_hand, 55);
}

TEST(Catalog, DeactivatedProductsAreHiddenFromThePublicButNotFromAdmins) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker()).ok());
  ASSERT_TRUE(c.deactivate("sku-1").ok());
  EXPECT_EQ(c.get("sku-1", false).code(), error_code::not_found);
  EXPECT_TRUE(c.get("sku-1", true).ok());
  EXPECT_TRUE(c.list("", 10, "", false).empty());
  EXPECT_EQ(c.list("", 10, "", true).size(), 1u);
  EXPECT_EQ(c.decide(take("sku-1", 1), now).refused, error_code::not_found);
}

TEST(Catalog, ListIsOrderedByIdAfterTheCursorAndFiltersByNameIgnoringCase) {
  catalog c;
  for (auto id : {"b", "a", "d", "c"}) ASSERT_TRUE(c.create(sneaker(id)).ok());
  auto hat = sneaker("e");
  hat.name = "Bucket HAT";
  ASSERT_TRUE(c.create(hat).ok());
  auto first = c.list("", 2, "", false);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, "a");
  EXPECT_EQ(first[1].id, "b");
  auto next = c.list("b", 2, "", false);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].id, "c");
  auto hats = c.list("", 10, "hat", false);
  ASSERT_EQ(hats.size(), 1u);
  EXPECT_EQ(hats[0].id, "e");
}

TEST(Catalog, TheNameFilterIgnoresCaseBeyondAscii) {
  catalog c;
  auto named = [&](const char* id, const char* name) {
    auto p = sneaker(id);
    p.name = name;
    ASSERT_TRUE(c.create(p).ok());
  };
  named("cafe", "Café \xe2\x98\x95");                // Café ☕
  named("greek", "\xce\x94\xce\xb5\xce\xbb\xcf\x84\xce\xb1");  // Δελτα
  named("russian", "\xd0\x96\xd0\xb0\xd1\x80");     // Жар
  auto ids = [&](std::string_view q) {
    std::vector<std::string> out;
    for (const auto& v : c.list("", 10, q, false)) out.push_back(v.id);
    return out;
  };
  EXPECT_EQ(ids("CAF\xc3\x89"), std::vector<std::string>{"cafe"});   // CAFÉ
  EXPECT_EQ(ids("caf\xc3\xa9"), std::vector<std::string>{"cafe"});   // café
  EXPECT_EQ(ids("CAF"), std::vector<std::string>{"cafe"});
  EXPECT_EQ(ids("\xce\xb4\xce\x95\xce\x9b"), std::vector<std::string>{"greek"});  // δΕΛ
  EXPECT_EQ(ids("\xd0\xb6\xd0\x90\xd0\xa0"), std::vector<std::string>{"russian"});  // жАР
  EXPECT_TRUE(ids("cafe").empty());  // folding is of case, not accents
  EXPECT_TRUE(ids("\xff\xfe").empty());  // bytes that are not UTF-8 match only themselves
}

TEST(Catalog, DecideRefusesBeforeTheSaleStartsAndAfterItEnds) {
  catalog c;
  auto p = sneaker();
  p.sale_starts_at_ms = now + 1000;
  p.sale_ends_at_ms = now + 2000;
  ASSERT_TRUE(c.create(p).ok());
  auto early = c.decide(take("sku-1", 1), now);
  EXPECT_EQ(early.refused, error_code::sale_not_started);
  EXPECT_EQ(early.sale_starts_at_ms, now + 1000);
  EXPECT_FALSE(c.decide(take("sku-1", 1), now + 1000).refused);
  EXPECT_EQ(c.decide(take("sku-1", 1), now + 2000).refused, error_code::sale_ended);
}

TEST(Catalog, DecideCountsWhatTheUserAlreadyHasAgainstTheLimit) {
  catalog c;
  auto p = sneaker();
  p.max_per_user = 2;
  ASSERT_TRUE(c.create(p).ok());
  EXPECT_FALSE(c.decide(take("sku-1", 2, 0), now).refused);
  auto over = c.decide(take("sku-1", 1, 2), now);
  EXPECT_EQ(over.refused, error_code::limit_exceeded);
  EXPECT_EQ(over.max_per_user, 2);
  EXPECT_EQ(c.find("sku-1")->units.reserved(), 2);
}

TEST(Catalog, TheLimitIsCheckedBeforeStock) {
  catalog c;
  auto p = sneaker("sku-1", 1);
  p.max_per_user = 1;
  ASSERT_TRUE(c.create(p).ok());
  EXPECT_EQ(c.decide(take("sku-1", 2), now).refused, error_code::limit_exceeded);
}

TEST(Catalog, DecideReportsWhatIsAvailableWhenShort) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker("sku-1", 3)).ok());
  auto a = c.decide(take("sku-1", 5), now);
  EXPECT_EQ(a.refused, error_code::out_of_stock);
  EXPECT_EQ(a.available, 3);
  EXPECT_FALSE(a.reserved);
  EXPECT_EQ(c.find("sku-1")->units.reserved(), 0);
}

TEST(Catalog, ACheckOnlyAskTakesNothing) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker("sku-1", 3)).ok());
  stock_ask check{"sku-1", 3, false, 3, 0};
  EXPECT_FALSE(c.decide(check, now).refused);
  check.units = 4;
  EXPECT_EQ(c.decide(check, now).refused, error_code::out_of_stock);
  EXPECT_EQ(c.find("sku-1")->units.reserved(), 0);
}

TEST(Catalog, EveryStockChangeMovesTheVersion) {
  catalog c;
  ASSERT_TRUE(c.create(sneaker()).ok());
  uint64_t v = c.find("sku-1")->version;
  ASSERT_FALSE(c.decide(take("sku-1", 1), now).refused);
  EXPECT_GT(c.find("sku-1")->version, v);
}

}  // namespace
}  // namespace stampede
