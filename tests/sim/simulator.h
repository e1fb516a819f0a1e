// One seed of the deterministic simulation (after FoundationDB's simulator and TigerBeetle's
// VOPR). The seed draws its machine and workload (swarm testing: each seed turns faults and
// rates up or down), then a scheduler picks, step by step, the one thing that happens next:
// a shard takes messages, runs a timer, falls asleep or is woken; a post is counted; a
// log's sync completes; the gateway answers; a client sends; time jumps; the power goes
// (then the store restarts through the real recovery). The invariants are checked after
// every step. Then the workload stops and the scheduler runs without time or faults until
// nothing is pending: every request must have been answered (liveness).
// The same seed makes the same run: every choice comes from one generator seeded with it.
// Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace stampede::sim {

struct sim_options {
  std::string dir;                    // the data directory (created, emptied, removed)
  bool lie_about_durability = false;  // the mutant of sim_log.h
  int async = -1;                     // -1: the seed decides; 0 or 1: --durability async
  bool strict_reads = false;          // model.h's strict_reads
  std::function<void(const std::string&)> trace;  // every step and answer, when set
};

struct seed_result {
  std::string failure;  // empty when every check held
  uint64_t steps = 0;
  uint64_t requests = 0;   // answered
  uint64_t crashes = 0;
  uint64_t refused = 0;    // restarts refused as corrupt (allowed: torn or garbled tails)
  uint64_t digest = 0;     // of every choice made and answer seen
  std::string knobs;       // what the seed drew
};

seed_result run_seed(uint64_t seed, const sim_options& options);

}  // namespace stampede::sim
