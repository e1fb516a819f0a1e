// The values drops are made of: modes and states, a queue ticket, a draw entry, a drop's
// status, a product's claim by a drop and a waitlist entry, as the log and snapshots keep
// them (absolute values), and the views replies show. Plain values: safe to copy between
// threads; each lives on its owner's shard (drops on hash(drop id), claims and waitlists on
// their product's shard).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace stampede {

enum class drop_mode : uint8_t { queue, draw };
std::string_view to_string(drop_mode m);
std::optional<drop_mode> parse_drop_mode(std::string_view s);

// A drop's public state (API.md).
enum class drop_state : uint8_t { scheduled, open, sold_out_pending, sold_out, closed };
std::string_view to_string(drop_state s);

// A queue ticket's state as kept. A waiting ticket of a drop that turned sold_out or
// closed reads as sold_out or closed (one status change turns them all at once).
enum class ticket_state : uint8_t { waiting, admitted, expired, sold_out, closed };
std::string_view to_string(ticket_state s);

// A draw entry's stage. `offered`: picked, its hold being placed in the winner's cart;
// it reads as "entered" until the hold is there.
enum class entry_stage : uint8_t { entered, offered, won, lost };
std::string_view public_name(entry_stage s);

struct drop_ticket {
  std::string user_id;
  ticket_state state = ticket_state::waiting;
  int64_t place = 0;  // 1-based place in the queue's order; 0 until the opening places it
  int64_t joined_at_ms = 0;
  int64_t admitted_at_ms = 0;     // 0: never admitted
  int64_t admitted_until_ms = 0;  // the admission token's expiry
  bool used = false;              // the admission took its first add to a cart
  bool converted = false;         // an order with a drop product followed
  bool operator==(const drop_ticket&) const = default;
};

struct drop_entry {
  std::string user_id;
  entry_stage stage = entry_stage::entered;
  int64_t rank = 0;  // 1-based after the draw; 0 before
  int64_t entered_at_ms = 0;
  int64_t held_until_ms = 0;  // won: the winner's hold deadline as last heard
  bool operator==(const drop_entry&) const = default;
};

// What changes about a drop as a whole, and its counts since creation.
struct drop_status {
  bool opened = false;  // queue: the pre-queue is placed and the seed revealed
  bool drawn = false;   // draw: entries are ranked and the seed revealed
  bool paused = false;
  bool sold_out = false;  // latched: nothing available and nothing held
  bool closed = false;
  int64_t pauses = 0;  // every pause: an estimate may grow after one
  int64_t admitted = 0;
  int64_t converted = 0;
  int64_t expired = 0;
  int64_t winners = 0;
  bool operator==(const drop_status&) const = default;
};

// A product's membership of a drop that has not closed, kept on the product's shard: it
// decides who may take the product's units (drop_claims.h).
struct drop_claim {
  std::string drop_id;
  drop_mode mode = drop_mode::queue;
  int64_t opens_at_ms = 0;
  // The drop sold out: units that come back go to the product's waitlist, not the drop.
  bool sold_out = false;
  bool operator==(const drop_claim&) const = default;
};

struct waitlist_entry {
  std::string user_id;
  int64_t quantity = 1;
  int64_t place = 0;  // 1-based arrival order on the product's list
  int64_t joined_at_ms = 0;
  bool offered = false;  // the units are being put in the user's cart
  bool operator==(const waitlist_entry&) const = default;
};

// GET /v1/drops/{id}/queue/me.
struct ticket_view {
  std::string drop_id;
  ticket_state state = ticket_state::waiting;
  std::optional<int64_t> position;
  std::optional<int64_t> ahead;
  std::optional<int64_t> eta_s;
  std::optional<std::string> admission_token;
  std::optional<int64_t> admitted_until_ms;
  bool operator==(const ticket_view&) const = default;
};

// GET /v1/drops/{id}/entries/me.
struct entry_view {
  std::string drop_id;
  entry_stage stage = entry_stage::entered;
  std::optional<int64_t> rank;
  bool operator==(const entry_view&) const = default;
};

// A join or an entry: the one the user has, and whether this request made it (201) or
// found it (200).
template <class T>
struct created {
  T value;
  bool is_new = false;
};

// GET /v1/products/{id}/waitlist/me.
struct waitlist_place {
  std::string product_id;
  int64_t position = 0;  // 1-based
  int64_t quantity = 0;
};

enum class drop_command : uint8_t { pause, resume, close };

// What lets a take through a drop's gate (drop_claims.h); the user's shard sets it from a
// verified admission token, or the engine for a draw's win or a waitlist's offer.
struct take_pass {
  enum class kind : uint8_t { none, admission, draw_grant, waitlist_offer };
  kind what = kind::none;
  std::string drop_id;  // admission, draw_grant: the drop that let the user in
  bool operator==(const take_pass&) const = default;
};

// Which limit a stock ask counts against besides max_per_user (drop_identity.h).
enum class limit_scope : uint8_t { user, address, card };
std::string_view to_string(limit_scope s);

inline error not_admitted_error(std::string message) {
  return make_error(error_code::not_admitted, std::move(message));
}
inline error sold_out_error(std::string message) {
  return make_error(error_code::sold_out, std::move(message));
}

}  // namespace stampede
