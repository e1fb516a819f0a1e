// Users' turns (core/user_table.h): one request at a time per user, each started when the
// turn before it ends, refusals answered, and nothing left waiting by a path that forgot.
#include "core/user_table.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace stampede {
namespace {

struct table_rig {
  owner_thread owner;
  manual_clock time;
  user_table users{owner, time, /*requests_per_s=*/0};
  boost::asio::io_context io;  // where replies are answered
};

TEST(UserTable, AUsersRequestsRunOneAtATimeInTheOrderTheyCame) {
  table_rig rig;
  std::vector<int> ran;
  std::optional<user_turn> first;
  rig.users.with_user("alice", [&](user_turn t) {
    ran.push_back(1);
    first.emplace(std::move(t));  // still running: an answer it waits for
  });
  for (int n = 2; n <= 4; ++n)
    rig.users.with_user("alice", [&, n](user_turn) { ran.push_back(n); });
  rig.users.with_user("bob", [&](user_turn) { ran.push_back(10); });
  EXPECT_EQ(ran, (std::vector<int>{1, 10}));  // bob does not wait for alice
  first.reset();  // the first request ends: the three waiting run, in order
  EXPECT_EQ(ran, (std::vector<int>{1, 10, 2, 3, 4}));
}

TEST(UserTable, ATurnMovedIntoAContinuationEndsWhenTheContinuationIsDone) {
  table_rig rig;
  int second_ran = 0;
  std::function<void()> continuation;
  rig.users.with_user("alice", [&](user_turn t) {
    auto held = std::make_shared<user_turn>(std::move(t));
    continuation = [held]() mutable { held.reset(); };
  });
  rig.users.with_user("alice", [&](user_turn) { ++second_ran; });
  EXPECT_EQ(second_ran, 0);
  continuation();
  EXPECT_EQ(second_ran, 1);
}

TEST(UserTable, ACustomerFindingTheQueueFullIsRefusedAndAnsweredRateLimited) {
  table_rig rig;
  std::optional<user_turn> busy;
  rig.users.with_user("alice", [&](user_turn t) { busy.emplace(std::move(t)); });
  for (size_t i = 0; i < limits::user_requests_queued_max; ++i)
    rig.users.with_user("alice", [](user_turn) {});
  std::optional<result<ok_t>> answer;
  bool ran = false;
  rig.users.with_user("alice", caller::customer,
                      reply<ok_t>(rig.io.get_executor(), [&](result<ok_t> r) { answer = r; }),
                      [&](user_turn, reply<ok_t> done) {
                        ran = true;
                        done(ok_t{});
                      });
  rig.io.run();
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(answer->ok());
  EXPECT_EQ(answer->code(), error_code::rate_limited);
  EXPECT_FALSE(ran);
  busy.reset();
}

TEST(UserTable, ThePerUserRateLimitRefusesCustomersButNotTheEngine) {
  owner_thread owner;
  manual_clock time;
  user_table users(owner, time, /*requests_per_s=*/1);
  boost::asio::io_context io;
  int refused = 0, ran = 0;
  for (int i = 0; i < limits::user_request_burst + 5; ++i) {
    users.with_user("alice", caller::customer,
                    reply<ok_t>(io.get_executor(), [&](result<ok_t> r) { refused += !r.ok(); }),
                    [&](user_turn, reply<ok_t> done) {
                      ++ran;
                      done(ok_t{});
                    });
  }
  users.with_user("alice", [&](user_turn) { ++ran; });  // a hold lapsing is never refused
  io.run();
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(ran, limits::user_request_burst + 1);
}

TEST(UserTable, AClosedTableStartsNothingMoreWhenATurnEnds) {
  table_rig rig;
  std::optional<user_turn> busy;
  bool second = false;
  rig.users.with_user("alice", [&](user_turn t) { busy.emplace(std::move(t)); });
  rig.users.with_user("alice", [&](user_turn) { second = true; });
  rig.users.close();
  busy.reset();
  EXPECT_FALSE(second);
}

TEST(UserTable, ARecordAllocatesNoQueueUntilSomethingIsInIt) {
  // A user with a cart line and nothing else is most users; each queue used to allocate
  // ~600 bytes when the record was made (BENCHMARKS.md, "Recovery profile").
  table_rig rig;
  user_record& u = rig.users.get("alice");
  EXPECT_FALSE(u.notifications.allocated());
  EXPECT_TRUE(u.notifications.empty());
  EXPECT_EQ(u.notifications.begin(), u.notifications.end());
  rig.users.add_notification("alice", notification{.id = "ntf_1"});
  EXPECT_TRUE(u.notifications.allocated());
  EXPECT_FALSE(rig.users.get("bob").notifications.allocated());
}

TEST(UserTable, TheInboxKeepsTheNewestNotificationsInOrder) {
  table_rig rig;
  const size_t extra = 3;
  for (size_t i = 0; i < limits::notifications_per_user_max + extra; ++i)
    rig.users.add_notification("alice", notification{.id = "ntf_" + std::to_string(i)});
  const auto& inbox = rig.users.get("alice").notifications;
  ASSERT_EQ(inbox.size(), limits::notifications_per_user_max);
  EXPECT_EQ(inbox[0].id, "ntf_" + std::to_string(extra));  // the oldest three are gone
  size_t i = extra;
  for (const notification& n : inbox) EXPECT_EQ(n.id, "ntf_" + std::to_string(i++));
  EXPECT_EQ(i, limits::notifications_per_user_max + extra);
}

}  // namespace
}  // namespace stampede
