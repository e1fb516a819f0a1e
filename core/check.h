// Assertions for programmer errors; expected failures are `result` values (errors.h).
//   STAMPEDE_CHECK(cond): always on, Release too. For invariants whose violation must stop
//     the process (the stock invariant, the order status machine, a record that would not
//     fit the log): a wrong answer is worse than no answer.
//   STAMPEDE_DCHECK(cond): on when STAMPEDE_DCHECKS is 1 (Debug builds and every build
//     that builds the tests; CMake option STAMPEDE_DCHECKS), compiled out otherwise. For
//     contracts checked on hot paths: the owning shard's thread, a reply answered once.
// Never a bare assert(): it vanishes in Release without anyone deciding that it should.
// Thread-safety: the macros may be used on any thread.
#pragma once

#include <cstdio>
#include <cstdlib>

#define STAMPEDE_CHECK(cond)                                                       \
  do {                                                                             \
    if (!(cond)) [[unlikely]] {                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

#ifndef STAMPEDE_DCHECKS
#define STAMPEDE_DCHECKS 0
#endif

#if STAMPEDE_DCHECKS
#define STAMPEDE_DCHECK(cond) STAMPEDE_CHECK(cond)
#else
// The condition is still compiled (so it cannot rot), never evaluated.
#define STAMPEDE_DCHECK(cond) \
  do {                        \
    if (false) (void)(cond);  \
  } while (0)
#endif
