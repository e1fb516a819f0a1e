// Checks on the store's own state, read between steps (no shard is inside a step then):
// the stock invariant of every product and each user's max_per_user after every step;
// when nothing is in flight, the stock accounting against carts and orders (every order's
// units committed exactly once, every hold reserved once) and on_hand against the model;
// after a restart, the store read back against what the model acknowledged.
// Single-threaded: the simulator's thread.
#pragma once

#include "tests/sim/model.h"
#include "tests/sim/world.h"

namespace stampede::sim {

void check_step(world& w, const model& m, checker& check);
void check_quiet(world& w, const model& m, checker& check);
// After a restart. `strict`: every acknowledged change is there (a request whose answer
// was lost may or may not have happened, not half); with --durability async, where answers
// go before durability, the model takes what survived instead. Either way the model then
// knows how each lost request ended.
void reconcile(world& w, model& m, checker& check, bool strict);

}  // namespace stampede::sim
