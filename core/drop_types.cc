#include "core/drop_types.h"

namespace stampede {

std::string_view to_string(drop_mode m) { return m == drop_mode::queue ? "queue" : "draw"; }

std::optional<drop_mode> parse_drop_mode(std::string_view s) {
  if (s == "queue") return drop_mode::queue;
  if (s == "draw") return drop_mode::draw;
  return std::nullopt;
}

std::string_view to_string(drop_state s) {
  switch (s) {
    case drop_state::scheduled:
      return "scheduled";
    case drop_state::open:
      return "open";
    case drop_state::sold_out_pending:
      return "sold_out_pending";
    case drop_state::sold_out:
      return "sold_out";
    case drop_state::closed:
      return "closed";
  }
  return "closed";
}

std::string_view to_string(ticket_state s) {
  switch (s) {
    case ticket_state::waiting:
      return "waiting";
    case ticket_state::admitted:
      return "admitted";
    case ticket_state::expired:
      return "expired";
    case ticket_state::sold_out:
      return "sold_out";
    case ticket_state::closed:
      return "closed";
  }
  return "closed";
}

std::string_view public_name(entry_stage s) {
  switch (s) {
    case entry_stage::entered:
    case entry_stage::offered:
      return "entered";
    case entry_stage::won:
      return "won";
    case entry_stage::lost:
      return "lost";
  }
  return "lost";
}

std::string_view to_string(limit_scope s) {
  switch (s) {
    case limit_scope::user: return "user";
    case limit_scope::address: return "address";
    case limit_scope::card: return "card";
  }
  return "user";
}

}  // namespace stampede
