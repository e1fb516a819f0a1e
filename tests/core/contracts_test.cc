// The contracts core/ checks on itself (STAMPEDE_DCHECK, on in every build of the suite):
// shard-local state touched from another thread, and a reply answered twice or dropped,
// each stop the process; replies still queued in a shard that is torn down may be dropped.
// Where an answer runs: at once for the io_context of the shard loop answering it, posted
// to any other.
// Built only with STAMPEDE_DCHECKS (tests/core/CMakeLists.txt).
#include <future>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/shard.h"

namespace stampede {
namespace {

class Contracts : public ::testing::Test {
 protected:
  // The child re-runs this test alone: threads started before the death are its own.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(Contracts, TouchingAShardsStateFromAnotherThreadFailsItsCheck) {
  EXPECT_DEATH(
      {
        engine e(engine_config{1, 600, 900, nullptr, false});
        e.start();
        // Once the loop runs (it has run a task), its thread owns the shard.
        std::promise<void> running;
        e.shard_at(0).post(shard_task{[&running](shard&) { running.set_value(); }});
        running.get_future().wait();
        (void)e.shard_at(0).users();  // the test's thread, not shard 0's
      },
      "check failed: owner_.is_current");
}

TEST_F(Contracts, TheOwningThreadMayTouchItsShardsState) {
  engine e(engine_config{1, 600, 900, nullptr, false});
  e.start();
  std::promise<size_t> seen;
  e.shard_at(0).post(shard_task{[&seen](shard& s) { seen.set_value(s.products().size()); }});
  EXPECT_EQ(seen.get_future().get(), 0u);
}

TEST_F(Contracts, AReplyAnsweredTwiceFailsItsCheck) {
  EXPECT_DEATH(
      {
        boost::asio::io_context io;
        reply<ok_t> done(io.get_executor(), [](result<ok_t>) {});
        done(ok_t{});
        done(ok_t{});
      },
      "check failed: state_ == state::waiting");
}

TEST_F(Contracts, AReplyDroppedUnansweredFailsItsCheck) {
  EXPECT_DEATH(
      {
        boost::asio::io_context io;
        reply<ok_t> done(io.get_executor(), [](result<ok_t>) {});
      },
      "check failed: state_ != state::waiting");
}

TEST_F(Contracts, AMovedFromReplyNeedsNoAnswerButItsNewHolderDoes) {
  boost::asio::io_context io;
  int answers = 0;
  reply<ok_t> first(io.get_executor(), [&](result<ok_t>) { ++answers; });
  reply<ok_t> second(std::move(first));
  second(ok_t{});
  io.run();
  EXPECT_EQ(answers, 1);
}

TEST_F(Contracts, RepliesStillQueuedInAShardThatIsTornDownAreDroppedWithIt) {
  router routes(1);
  manual_clock time;
  boost::asio::io_context io;
  bool answered = false;
  {
    shard s(0, routes, time, shard_config{});
    s.post(shard_task{[done = reply<ok_t>(io.get_executor(), [&](result<ok_t>) {
                         answered = true;
                       })](shard&) mutable { done(ok_t{}); }});
  }  // never run: the task and its reply go with the shard, and nothing fails
  io.run();
  EXPECT_FALSE(answered);
}

// The shard drains its mailbox between its io_context's handlers; an answer for that very
// context runs there and then, as asio::dispatch runs one inside a handler, instead of
// waiting (as an allocated operation) for the loop's next poll.
TEST(Replies, AnAnswerForTheDrainingShardsOwnContextRunsAtOnce) {
  router routes(1);
  manual_clock time;
  shard s(0, routes, time, shard_config{});
  std::vector<std::string> seen;
  s.post(shard_task{[&seen](shard& home) {
    reply<ok_t> done(home.io().get_executor(), [&seen](result<ok_t>) { seen.push_back("answer"); });
    done(ok_t{});
    seen.push_back("after");
  }});
  EXPECT_EQ(s.step_drain(1), 1u);
  EXPECT_EQ(seen, (std::vector<std::string>{"answer", "after"}));
}

TEST(Replies, AnAnswerForAnotherContextIsPostedThere) {
  router routes(1);
  manual_clock time;
  shard s(0, routes, time, shard_config{});
  boost::asio::io_context elsewhere;
  bool answered = false;
  s.post(shard_task{[&](shard&) {
    reply<ok_t>(elsewhere.get_executor(), [&answered](result<ok_t>) { answered = true; })(ok_t{});
  }});
  EXPECT_EQ(s.step_drain(1), 1u);
  EXPECT_FALSE(answered);
  elsewhere.run();
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace stampede
