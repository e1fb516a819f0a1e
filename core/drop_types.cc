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

namespace {
// The marker that tells the two drop refusals apart from the codes they travel as.
constexpr std::string_view not_admitted_marker = "drop:not_admitted";
constexpr std::string_view sold_out_marker = "drop:sold_out";

error marked(error_code code, std::string message, std::string_view marker) {
  error_details d;
  d.field = std::string(marker);
  return make_error(code, std::move(message), std::move(d));
}
}  // namespace

error not_admitted_error(std::string message) {
  return marked(error_code::forbidden, std::move(message), not_admitted_marker);
}
error sold_out_error(std::string message) {
  return marked(error_code::conflict, std::move(message), sold_out_marker);
}
bool is_not_admitted(const error& e) {
  return e.code == error_code::forbidden && e.details.field == not_admitted_marker;
}
bool is_sold_out(const error& e) {
  return e.code == error_code::conflict && e.details.field == sold_out_marker;
}

}  // namespace stampede
