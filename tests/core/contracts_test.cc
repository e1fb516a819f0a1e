// The contracts core/ checks on itself (STAMPEDE_DCHECK, on in every build of the suite):
// shard-local state touched from another thread, and a reply answered twice or dropped,
// each stop the process; replies still queued in a shard that is torn down may be dropped.
// Built only with STAMPEDE_DCHECKS (tests/core/CMakeLists.txt).
#include <future>

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

}  // namespace
}  // namespace stampede
