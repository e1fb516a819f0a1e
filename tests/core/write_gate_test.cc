// Admission of client writes by queueing time (core/write_gate.h) and the write queue that
// refuses what waited too long or whose client left (core/write_queue.h).
#include "core/write_gate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/write_queue.h"

namespace stampede {
namespace {

constexpr int64_t ms = 1'000'000;

TEST(WriteGate, AnEmptyQueueAdmitsEveryWrite) {
  write_gate gate;
  EXPECT_TRUE(gate.admit(0));
  EXPECT_TRUE(gate.admit(1'000'000 * ms));
}

TEST(WriteGate, AQueueThatEmptiedWithinTheIntervalLetsAWriteWaitUpToTheInterval) {
  write_gate gate;
  gate.filled(1000 * ms);  // empty until now
  EXPECT_TRUE(gate.admit(1050 * ms));   // the oldest waited 50 ms: a burst being absorbed
  EXPECT_TRUE(gate.admit(1100 * ms));   // 100 ms, the interval
  EXPECT_FALSE(gate.admit(1101 * ms));  // past it: refused at the door
}

TEST(WriteGate, AStandingQueueHoldsWritesToTheTarget) {
  write_gate gate(write_gate_config{.target_ns = 5 * ms, .interval_ns = 100 * ms});
  gate.filled(1000 * ms);
  // Never empty since: after a whole interval the queue is standing.
  gate.head_is(1096 * ms);
  EXPECT_FALSE(gate.standing(1099 * ms));
  EXPECT_TRUE(gate.admit(1099 * ms));  // 3 ms: fine either way
  EXPECT_TRUE(gate.standing(1101 * ms));
  EXPECT_FALSE(gate.admit(1102 * ms));  // 6 ms > the 5 ms target of a standing queue
  gate.head_is(1098 * ms);
  EXPECT_TRUE(gate.admit(1102 * ms));  // 4 ms
}

// The lead's closed-model run (BENCHMARKS.md, "Overload"): 256 connections, each with one
// write in the queue at a time, keep a queue that never empties but holds only about 13 ms
// of work (50 us a write). The shard serves them well within issue 9's goals, so the
// default gate must not shed them; a standing queue of half the deadline is still refused.
TEST(WriteGate, TheDefaultAdmitsTheStandingQueueOfASteadyPopulationOfClients) {
  write_gate gate;
  gate.filled(1000 * ms);
  gate.head_is(10'000 * ms - 13 * ms);  // never empty for 9 s; the oldest waited 13 ms
  EXPECT_TRUE(gate.standing(10'000 * ms));
  EXPECT_TRUE(gate.admit(10'000 * ms));
  gate.head_is(10'000 * ms - 60 * ms);
  EXPECT_FALSE(gate.admit(10'000 * ms));
  EXPECT_LT(gate.config().target_ns, gate.config().interval_ns);  // admitted writes start in time
}

TEST(WriteGate, OnceTheQueueEmptiesTheAllowanceIsTheIntervalAgain) {
  write_gate gate;
  gate.filled(1000 * ms);
  gate.head_is(1140 * ms);  // standing, and the oldest waited 60 ms: past the target
  EXPECT_FALSE(gate.admit(1200 * ms));
  gate.emptied(1201 * ms);
  EXPECT_TRUE(gate.admit(1202 * ms));
  gate.filled(1210 * ms);
  EXPECT_FALSE(gate.standing(1250 * ms));
  EXPECT_TRUE(gate.admit(1250 * ms));  // 40 ms in a good queue
}

struct recorder {
  std::vector<std::string> log;
  write_task task(std::string name, int64_t enqueued_ns, int64_t deadline_ns,
                  std::shared_ptr<std::atomic<bool>> gone = nullptr) {
    write_task t;
    t.run = [this, name](bool run) { log.push_back((run ? "ran " : "refused ") + name); };
    t.enqueued_ns = enqueued_ns;
    t.deadline_ns = deadline_ns;
    t.gone = std::move(gone);
    return t;
  }
};

TEST(WriteQueue, WritesRunInOrderAndThoseLateOrAbandonedAreRefusedUnrun) {
  write_gate gate;
  write_queue q(gate);
  recorder r;
  int64_t now = steady_now_ns();
  auto gone = std::make_shared<std::atomic<bool>>(false);
  q.push(r.task("a", now, now + 1000 * ms));
  q.push(r.task("late", now, now - 1 * ms));  // its deadline has passed
  q.push(r.task("left", now, now + 1000 * ms, gone));
  q.push(r.task("b", now, 0));
  gone->store(true);  // that client closed its connection while the write waited
  EXPECT_EQ(q.run_front(100, now + 1000 * ms), 4u);
  EXPECT_EQ(r.log, (std::vector<std::string>{"ran a", "refused late", "refused left", "ran b"}));
  EXPECT_EQ(q.stats().ran.load(), 2u);
  EXPECT_EQ(q.stats().late.load(), 1u);
  EXPECT_EQ(q.stats().gone.load(), 1u);
  EXPECT_TRUE(q.empty());
}

TEST(WriteQueue, ABatchStopsAtItsCountAndTellsTheGateTheOldestLeft) {
  write_gate gate;
  write_queue q(gate);
  recorder r;
  int64_t now = steady_now_ns();
  for (int i = 0; i < 3; ++i) q.push(r.task(std::to_string(i), now - (3 - i) * 200 * ms, 0));
  // The oldest waited 600 ms: the door is shut...
  EXPECT_FALSE(gate.admit(now));
  EXPECT_EQ(q.run_front(2, now + 1000 * ms), 2u);
  EXPECT_EQ(r.log, (std::vector<std::string>{"ran 0", "ran 1"}));
  // ...and after two left, the oldest waited 200 ms: still shut; once empty, open.
  EXPECT_FALSE(gate.admit(now));
  EXPECT_EQ(q.run_front(2, now + 1000 * ms), 1u);
  EXPECT_TRUE(gate.admit(steady_now_ns()));
}

TEST(WriteQueue, AFullQueueRefusesAtOnce) {
  write_gate gate;
  write_queue q(gate);
  recorder r;
  int64_t now = steady_now_ns();
  for (size_t i = 0; i < limits::write_queue_max; ++i) q.push(r.task("x", now, 0));
  q.push(r.task("over", now, 0));
  ASSERT_EQ(r.log.size(), 1u);
  EXPECT_EQ(r.log[0], "refused over");
  EXPECT_EQ(q.stats().full.load(), 1u);
}

}  // namespace
}  // namespace stampede
