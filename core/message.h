// The messages shards send each other: plain move-only structs, never pointers into
// another shard's state. Stock messages are the hot path and allocate nothing for a
// one-line ask with a short product id; `shard_task` carries a client request or a
// scatter-gather step and is the one message that holds a closure.
//
// Lifetime: a message is moved into the destination's mailbox and destroyed there after
// it is handled; nothing in it refers back to the sender except `reply_shard` (an index).
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "core/catalog.h"
#include "core/write_queue.h"

namespace stampede {

class shard;

// User shard -> product shard: decide these lines (catalog::decide) and answer.
struct stock_request {
  uint64_t token = 0;
  uint32_t reply_shard = 0;
  int64_t now_ms = 0;
  absl::InlinedVector<stock_ask, 1> asks;
};

// Product shard -> user shard: one answer per ask, in the same order.
struct stock_reply {
  uint64_t token = 0;
  absl::InlinedVector<stock_answer, 1> answers;
};

// User shard -> product shard, fire and forget: held units released (line removed, hold
// lapsed, checkout rolled back), holds moved into an order, or an order's units returned;
// or units counted under a limit across accounts given back (limit_release: `scope` and
// `key` name the count). A release, uncommit or limit release of a recorded change is
// sent only once its record is durable.
struct stock_move {
  enum class kind : uint8_t { release, commit, uncommit, limit_release };
  kind what = kind::release;
  std::string product_id;
  int64_t units = 0;
  limit_scope scope = limit_scope::user;
  std::string key;
};

// Runs on the destination shard's thread.
struct shard_task {
  absl::AnyInvocable<void(shard&)> run;
};

// A client write for the destination's write queue (core/write_queue.h): it runs after
// the reads and messages of its pass, unless its deadline passed or its client left.
using message = std::variant<stock_request, stock_reply, stock_move, shard_task, write_task>;

// How an owner sends a message to another shard: into the shard's per-destination batch,
// posted in bulk at the end of the pass. Shard-local: the sending shard's thread only.
class message_sink {
 public:
  virtual ~message_sink() = default;
  virtual void send(uint32_t to, message&& m) = 0;
};

}  // namespace stampede
