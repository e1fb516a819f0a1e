// Orders after checkout: payment, the status machine, cancel, expiry, lists, notifications.
#include <gtest/gtest.h>

#include <set>
#include <string_view>

#include "core/shard.h"
#include "tests/core/engine_fixture.h"

namespace stampede {
namespace {

class Orders : public ::testing::Test, public testing::engine_fixture {
 protected:
  // alice orders 2 of sku-1 (10 on hand, 1000 each); returns the order.
  order placed() {
    EXPECT_TRUE(create("sku-1", 10).ok());
    EXPECT_TRUE(add("alice", "sku-1", 2).ok());
    auto r = checkout("alice");
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->value : order{};
  }
  order paid() {
    order o = placed();
    auto r = pay(o.id, "alice", o.total);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->value.order_now : order{};
  }
};

TEST_F(Orders, AnOwnerSeesTheirOrderAndNobodyElseDoes) {
  order o = placed();
  EXPECT_EQ(get_order(o.id, "alice")->id, o.id);
  EXPECT_EQ(get_order(o.id, "mallory").code(), error_code::not_found);
  EXPECT_TRUE(get_order(o.id, "", /*admin=*/true).ok());
  EXPECT_EQ(get_order("ord_nonsense", "alice").code(), error_code::not_found);
  EXPECT_EQ(get_order(make_owned_id("ord_", user_tag("alice"), 999), "alice").code(),
            error_code::not_found);
}

TEST_F(Orders, ASucceededPaymentMakesTheOrderPaid) {
  order o = placed();
  auto r = pay(o.id, "alice", o.total);
  ASSERT_TRUE(r.ok());
  const payment_result& pr = r->value;
  EXPECT_EQ(pr.pay.status, payment_status::succeeded);
  EXPECT_EQ(pr.pay.id.substr(0, 4), "pay_");
  EXPECT_EQ(pr.pay.card_brand, "visa");
  EXPECT_EQ(pr.order_now.status, order_status::paid);
  EXPECT_EQ(pr.order_now.expires_at_ms, std::nullopt);
  ASSERT_EQ(pr.order_now.payments.size(), 1u);
  EXPECT_EQ(pr.order_now.payments[0].card_last4, "4242");
}

TEST_F(Orders, ADeclinedPaymentLeavesTheOrderPendingForAnotherTry) {
  order o = placed();
  auto r = pay(o.id, "alice", o.total, "4000000000000002");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value.pay.status, payment_status::failed);
  EXPECT_EQ(r->value.pay.failure_reason, "card_declined");
  EXPECT_EQ(r->value.order_now.status, order_status::pending);
  EXPECT_EQ(pay(o.id, "alice", o.total, "4000000000009995")->value.pay.failure_reason,
            "insufficient_funds");
  EXPECT_EQ(pay(o.id, "alice", o.total)->value.order_now.status, order_status::paid);
}

TEST_F(Orders, APaymentThatRequiresActionIsSettledByTheWebhookOnce) {
  order o = placed();
  auto r = pay(o.id, "alice", o.total, "4000000000003220");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value.pay.status, payment_status::requires_action);
  EXPECT_FALSE(r->value.pay.redirect_url.empty());
  EXPECT_EQ(r->value.order_now.status, order_status::pending);
  ASSERT_TRUE(settle(r->value.pay.id, payment_status::succeeded).ok());
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::paid);
  // A repeat changes nothing, not even a failure after the success.
  ASSERT_TRUE(settle(r->value.pay.id, payment_status::failed, "card_declined").ok());
  auto now = get_order(o.id, "alice");
  EXPECT_EQ(now->status, order_status::paid);
  EXPECT_EQ(now->payments[0].status, payment_status::succeeded);
  EXPECT_EQ(now->history.size(), 2u);
}

TEST_F(Orders, AFailedWebhookLeavesTheOrderPending) {
  order o = placed();
  auto r = pay(o.id, "alice", o.total, /*card=*/"");  // PayPal
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value.pay.method, "paypal");
  EXPECT_EQ(r->value.pay.status, payment_status::requires_action);
  ASSERT_TRUE(settle(r->value.pay.id, payment_status::failed, "declined_by_paypal").ok());
  auto now = get_order(o.id, "alice");
  EXPECT_EQ(now->status, order_status::pending);
  EXPECT_EQ(now->payments[0].failure_reason, "declined_by_paypal");
}

TEST_F(Orders, AWebhookForAnUnknownPaymentIsNotFound) {
  EXPECT_EQ(settle("pay_nonsense", payment_status::succeeded).code(), error_code::not_found);
  EXPECT_EQ(settle(make_owned_id("pay_", 1, 1), payment_status::succeeded).code(),
            error_code::not_found);
}

TEST_F(Orders, APaymentThatSucceedsAfterTheOrderExpiredIsRefundedAtOnce) {
  order o = placed();
  auto r = pay(o.id, "alice", o.total, "4000000000003220");
  ASSERT_TRUE(r.ok());
  advance_s(900);
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::canceled);
  ASSERT_TRUE(settle(r->value.pay.id, payment_status::succeeded).ok());
  auto now = get_order(o.id, "alice");
  EXPECT_EQ(now->status, order_status::canceled);
  EXPECT_EQ(now->payments[0].status, payment_status::refunded);
  EXPECT_EQ(inbox("alice")->items[0].event, "order.refunded");
  EXPECT_EQ(available("sku-1"), 10);
}

TEST_F(Orders, APaymentWithAnIdempotencyKeyIsChargedOnceAndADeclineIsReplayedToo) {
  order o = placed();
  auto declined = pay(o.id, "alice", o.total, "4000000000000002", "pay-1");
  ASSERT_TRUE(declined.ok());
  auto again = pay(o.id, "alice", o.total, "4000000000000002", "pay-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->value, declined->value);
  EXPECT_EQ(get_order(o.id, "alice")->payments.size(), 1u);
  EXPECT_EQ(pay(o.id, "alice", o.total, "4242424242424242", "pay-1").code(),
            error_code::idempotency_mismatch);
  EXPECT_EQ(pay(o.id, "alice", o.total, "4242424242424242", "pay-2")->value.order_now.status,
            order_status::paid);
}

TEST_F(Orders, APaymentMustBeForTheTotalAndOnlyWhilePending) {
  order o = placed();
  EXPECT_EQ(pay(o.id, "alice", o.total - 1).code(), error_code::amount_mismatch);
  ASSERT_TRUE(pay(o.id, "alice", o.total).ok());
  EXPECT_EQ(pay(o.id, "alice", o.total).code(), error_code::invalid_transition);
  EXPECT_EQ(pay(o.id, "bob", o.total).code(), error_code::not_found);
}

TEST_F(Orders, AdminsMoveAPaidOrderToDeliveredWithATrackingNumber) {
  order o = paid();
  EXPECT_EQ(set_status(o.id, order_status::processing)->status, order_status::processing);
  auto shipped = set_status(o.id, order_status::shipped, "1Z999");
  ASSERT_TRUE(shipped.ok());
  EXPECT_EQ(shipped->tracking_number, "1Z999");
  auto done = set_status(o.id, order_status::delivered);
  ASSERT_TRUE(done.ok());
  std::vector<order_status> seen;
  for (const auto& h : done->history) seen.push_back(h.status);
  std::vector<order_status> expected{order_status::pending, order_status::paid,
                                     order_status::processing, order_status::shipped,
                                     order_status::delivered};
  EXPECT_EQ(seen, expected);
}

TEST_F(Orders, IllegalMovesAreInvalidTransitionsAndChangeNothing) {
  order o = placed();
  EXPECT_EQ(set_status(o.id, order_status::shipped).code(), error_code::invalid_transition);
  ASSERT_TRUE(pay(o.id, "alice", o.total).ok());
  ASSERT_TRUE(set_status(o.id, order_status::shipped).ok());
  EXPECT_EQ(set_status(o.id, order_status::processing).code(), error_code::invalid_transition);
  EXPECT_EQ(cancel(o.id, "alice").code(), error_code::invalid_transition);
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::shipped);
}

TEST_F(Orders, CancelReturnsTheStock) {
  order o = placed();
  EXPECT_EQ(available("sku-1"), 8);
  auto r = cancel(o.id, "alice");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, order_status::canceled);
  EXPECT_EQ(available("sku-1"), 10);
  EXPECT_EQ(admin_product("sku-1")->committed, 0);
  EXPECT_EQ(cancel(o.id, "alice").code(), error_code::invalid_transition);
}

TEST_F(Orders, CancelingAPaidOrderRefundsIt) {
  order o = paid();
  auto r = cancel(o.id, "", /*admin=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payments[0].status, payment_status::refunded);
  EXPECT_EQ(available("sku-1"), 10);
}

TEST_F(Orders, OnlyTheOwnerOrAnAdminCancels) {
  order o = placed();
  EXPECT_EQ(cancel(o.id, "mallory").code(), error_code::not_found);
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::pending);
}

TEST_F(Orders, AnUnpaidOrderIsCanceledWhenThePaymentTimeRunsOut) {
  order o = placed();
  advance_s(899);
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::pending);
  advance_s(1);
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::canceled);
  EXPECT_EQ(available("sku-1"), 10);
}

TEST_F(Orders, APaidOrderDoesNotExpire) {
  order o = paid();
  advance_s(2000);
  EXPECT_EQ(get_order(o.id, "alice")->status, order_status::paid);
  EXPECT_EQ(available("sku-1"), 8);
}

TEST_F(Orders, AUsersOrdersAreListedNewestFirstInPages) {
  ASSERT_TRUE(create("sku-1", 100).ok());
  std::string addr = home("alice");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(add("alice", "sku-1", 1).ok());
    auto r = place("alice", {addr, "", "standard"});
    ASSERT_TRUE(r.ok());
    ids.push_back(r->value.id);
    clock_.advance_ms(1);
  }
  auto first = orders_of("alice", "", 2);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[4]);
  EXPECT_EQ(first->items[1].id, ids[3]);
  auto second = orders_of("alice", first->next_cursor, 2);
  EXPECT_EQ(second->items[0].id, ids[2]);
  auto last = orders_of("alice", second->next_cursor, 2);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].id, ids[0]);
  EXPECT_EQ(last->next_cursor, "");
  EXPECT_TRUE(orders_of("bob")->items.empty());
}

TEST_F(Orders, AdminsListEveryOrderByStatusAcrossShards) {
  ASSERT_TRUE(create("sku-1", 100).ok());
  std::vector<std::string> users{"u1", "u2", "u3", "u4", "u5", "u6"};
  std::vector<std::string> ids;
  for (const auto& u : users) {
    ASSERT_TRUE(add(u, "sku-1", 1).ok());
    auto r = checkout(u);
    ASSERT_TRUE(r.ok());
    ids.push_back(r->value.id);
    clock_.advance_ms(10);
  }
  ASSERT_TRUE(cancel(ids[1], users[1]).ok());
  auto pending = all_orders(order_status::pending);
  ASSERT_EQ(pending->items.size(), 5u);
  EXPECT_EQ(pending->items[0].id, ids[5]);
  EXPECT_EQ(all_orders(order_status::canceled)->items.size(), 1u);
  auto page1 = all_orders(std::nullopt, "", 4);
  ASSERT_EQ(page1->items.size(), 4u);
  auto page2 = all_orders(std::nullopt, page1->next_cursor, 4);
  ASSERT_EQ(page2->items.size(), 2u);
  EXPECT_EQ(page2->items[1].id, ids[0]);
  EXPECT_EQ(page2->next_cursor, "");
  EXPECT_EQ(all_orders(std::nullopt, "garbage").code(), error_code::invalid_request);
}

TEST_F(Orders, EveryOrderEventLandsInTheOwnersInbox) {
  order o = paid();
  ASSERT_TRUE(set_status(o.id, order_status::shipped, "1Z1").ok());
  auto in = inbox("alice");
  ASSERT_TRUE(in.ok());
  std::vector<std::string> events;
  for (const auto& n : in->items) events.push_back(n.event);
  std::vector<std::string> expected{"order.shipped", "order.paid", "order.created"};
  EXPECT_EQ(events, expected);
  EXPECT_EQ(in->items[0].tracking_number, "1Z1");
  EXPECT_EQ(in->items[0].order_id, o.id);
  EXPECT_EQ(in->items[0].message, "Your order has shipped.");
  EXPECT_TRUE(inbox("bob")->items.empty());
}

}  // namespace
}  // namespace stampede

namespace stampede {
namespace {

// A shard whose inbox is past the admission bound refuses new writes at once, changing
// nothing, and keeps answering reads.
TEST(Admission, AShardPastItsInboxBoundShedsWritesButServesReads) {
  manual_clock clock;
  engine_config cfg{1, 600, 900, &clock, false};
  cfg.inbox_admission_max = 4;
  engine eng(cfg);
  eng.start();
  boost::asio::thread_pool pool(1);
  std::promise<bool> created;
  product_create c;
  c.id = "sku-1";
  c.name = "Sneaker";
  c.on_hand = 10;
  eng.create_product(c, reply<product_view>(pool.get_executor(), [&](result<product_view> r) {
                       created.set_value(r.ok());
                     }));
  ASSERT_TRUE(created.get_future().get());
  // Stall the shard, then fill its inbox past the bound.
  std::promise<void> release, stalled;
  auto released = release.get_future().share();
  eng.shard_at(0).post(shard_task{[released, &stalled](shard&) {
    stalled.set_value();
    released.wait();
  }});
  stalled.get_future().wait();  // the shard is blocked: what follows stays in its inbox
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i)
    eng.get_product("sku-1", false, reply<product_view>(pool.get_executor(),
                                                        [&](result<product_view>) { ++answered; }));
  std::promise<result<idempotent<cart_view>>> shed;
  eng.add_item("alice", "sku-1", 1, std::nullopt,
               reply<idempotent<cart_view>>(pool.get_executor(), [&](result<idempotent<cart_view>> r) {
                 shed.set_value(std::move(r));
               }));
  auto r = shed.get_future().get();  // answered before the shard runs again
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), error_code::overloaded);
  release.set_value();
  std::promise<result<product_view>> after;
  eng.get_product("sku-1", true, reply<product_view>(pool.get_executor(), [&](result<product_view> p) {
                    after.set_value(std::move(p));
                  }));
  auto p = after.get_future().get();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->reserved, 0);
  EXPECT_EQ(answered.load(), 8);
  eng.stop();
  pool.join();
}

// A card is valid through the last instant of its expiry month, UTC (sandbox gateway).
TEST(CardExpiry, ACardIsValidThroughTheLastMillisecondOfItsMonth) {
  const int64_t dec_1_2026 = 1'796'083'200'000;  // 2026-12-01T00:00:00Z
  EXPECT_FALSE(card_expired(12, 2026, dec_1_2026));
  EXPECT_FALSE(card_expired(1, 2027, dec_1_2026));
  EXPECT_FALSE(card_expired(11, 2026, dec_1_2026 - 1));  // 2026-11-30T23:59:59.999Z
  EXPECT_TRUE(card_expired(11, 2026, dec_1_2026));
  EXPECT_TRUE(card_expired(12, 2025, dec_1_2026));
  EXPECT_FALSE(card_expired(12, 2030, dec_1_2026));
}

// API.md, Notifications: each event's notification says what happened in words. The drops'
// three once fell through to the generic "Your order was updated." (found from outside).
TEST(Notifications, EveryEventHasAMessageOfItsOwn) {
  std::set<std::string_view> seen;
  for (const char* event : {"order.created", "order.paid", "order.payment_failed", "order.processing",
                            "order.shipped", "order.out_for_delivery", "order.delivered",
                            "order.canceled", "order.refunded", "drop.admitted", "drop.won",
                            "waitlist.offered"}) {
    std::string_view m = message_for(event);
    EXPECT_NE(m, message_for("no.such_event")) << event;
    EXPECT_TRUE(seen.insert(m).second) << event << " shares its message";
  }
}

}  // namespace
}  // namespace stampede
