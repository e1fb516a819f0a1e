// The stock protocol between shards, both sides of it. A user shard asks product shards to
// decide cart lines (ask: one stock_request per owning shard, the answers gathered back in
// the asks' order), and moves stock it holds (move: release, commit, uncommit; fire and
// forget). A product shard decides on its catalog and answers (on_request) and applies the
// moves it receives (on_move). Asks and moves of a product on this very shard go straight
// to its catalog.
// Shard-local: only the owning shard's thread touches a stock_exchange.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "core/catalog.h"
#include "core/drop_gate.h"
#include "core/limits.h"
#include "core/message.h"
#include "core/router.h"

namespace stampede {

// The error a refused ask answers with (API.md's codes and details), for a user who has
// `already` units of the product in the cart and in live orders.
error stock_refusal(error_code code, const std::string& product_id, const stock_answer& a,
                    int64_t already);

class stock_exchange {
 public:
  using continuation = absl::AnyInvocable<void(std::vector<stock_answer>)>;

  // Asks are decided by `gate` (drops, waitlists, limits across accounts) around `products`.
  stock_exchange(uint32_t index, const router& routes, catalog& products, drop_gate& gate,
                 message_sink& out)
      : index_(index), routes_(routes), catalog_(products), gate_(gate), out_(out) {}

  // Decides every ask at now_ms, on whichever shards own the products, then calls
  // then(answers) with one answer per ask in the same order (at once if all are local).
  void ask(std::vector<stock_ask> asks, int64_t now_ms, continuation then);
  // Moves units on the product's shard. A release or uncommit of a recorded change must be
  // called only once that record is durable (DESIGN.md, "durable before it frees stock").
  void move(stock_move::kind what, const std::string& product_id, int64_t units);
  // Gives back units counted under a limit across accounts (the same rule: once durable).
  void release_limit(const std::string& product_id, limit_scope scope, std::string key,
                     int64_t units);
  // Moves them all, then calls applied() (if given) once every product's shard has applied
  // its moves: each shard that got one is sent a barrier (an empty stock_request), answered
  // after everything sent to it before, since one shard's messages to another arrive in
  // order. A read that starts after applied() sees the moves.
  void move_all(std::vector<stock_move> moves, absl::AnyInvocable<void()> applied);

  // Messages from other shards.
  void on_request(stock_request& m);
  void on_reply(stock_reply& m);
  void on_move(const stock_move& m);

  // Moves this shard sent to others, and received from others.
  std::pair<uint64_t, uint64_t> move_counts() const { return {moves_sent_, moves_received_}; }
  // Asks and barriers sent whose answers have not all come back.
  size_t gathers_pending() const { return pending_.size(); }

 private:
  // A reply's token is the gather id and, in its low bits, which request of the gather it
  // answers: at most one request per shard, so the part must hold shards_max - 1.
  static constexpr unsigned token_part_bits = 8;
  static_assert(limits::shards_max <= (size_t{1} << token_part_bits),
                "a stock token's part holds every shard index");

  struct gather {
    std::vector<stock_answer> answers;
    std::vector<std::vector<size_t>> positions;  // per request sent: indexes into answers
    size_t remaining = 0;
    continuation then;
  };
  void send_move(stock_move&& m);
  void apply(const stock_move& m);

  const uint32_t index_;
  const router& routes_;
  catalog& catalog_;
  drop_gate& gate_;
  message_sink& out_;
  absl::flat_hash_map<uint64_t, gather> pending_;
  uint64_t next_gather_ = 1;
  uint64_t moves_sent_ = 0;
  uint64_t moves_received_ = 0;
};

}  // namespace stampede
