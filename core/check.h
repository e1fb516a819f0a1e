// Always-on assertions for invariants whose violation must stop the process (the stock
// invariant, the order status machine), in Release builds too: a wrong answer is worse
// than no answer. Programmer errors only; expected failures are `result` values.
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
