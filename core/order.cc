#include "core/order.h"

namespace stampede {

namespace {
struct status_name {
  order_status status;
  std::string_view name;
};
constexpr status_name status_names[] = {
    {order_status::pending, "pending"},
    {order_status::paid, "paid"},
    {order_status::processing, "processing"},
    {order_status::shipped, "shipped"},
    {order_status::out_for_delivery, "out_for_delivery"},
    {order_status::delivered, "delivered"},
    {order_status::canceled, "canceled"},
};
}  // namespace

std::string_view to_string(order_status s) { return status_names[static_cast<int>(s)].name; }

std::optional<order_status> parse_order_status(std::string_view s) {
  for (const auto& n : status_names)
    if (n.name == s) return n.status;
  return std::nullopt;
}

bool transition_allowed(order_status from, order_status to, transition_actor actor) {
  if (to == order_status::canceled) {
    bool cancelable = from == order_status::pending || from == order_status::paid ||
                      from == order_status::processing;
    return cancelable;
  }
  if (from == order_status::canceled || from == order_status::delivered) return false;
  switch (actor) {
    case transition_actor::system:
      // Only a settled payment moves an order on its own, and only out of pending.
      return from == order_status::pending && to == order_status::paid;
    case transition_actor::owner:
      return false;  // owners may only cancel
    case transition_actor::admin:
      // Forward along paid -> ... -> delivered, skips allowed; pending moves only by payment.
      if (from == order_status::pending || to == order_status::pending ||
          to == order_status::paid)
        return false;
      return static_cast<int>(to) > static_cast<int>(from);
  }
  return false;
}

std::string_view to_string(payment_status s) {
  switch (s) {
    case payment_status::requires_action:
      return "requires_action";
    case payment_status::succeeded:
      return "succeeded";
    case payment_status::failed:
      return "failed";
    case payment_status::refunded:
      return "refunded";
  }
  return "failed";
}

std::string_view event_name_for(order_status s) {
  switch (s) {
    case order_status::pending:
      return "order.created";
    case order_status::paid:
      return "order.paid";
    case order_status::processing:
      return "order.processing";
    case order_status::shipped:
      return "order.shipped";
    case order_status::out_for_delivery:
      return "order.out_for_delivery";
    case order_status::delivered:
      return "order.delivered";
    case order_status::canceled:
      return "order.canceled";
  }
  return "order.created";
}

std::string_view message_for(std::string_view event) {
  if (event == "order.created") return "We have your order. It is waiting for payment.";
  if (event == "order.paid") return "Your payment went through. Thank you!";
  if (event == "order.payment_failed") return "Your payment did not go through.";
  if (event == "order.processing") return "We are preparing your order.";
  if (event == "order.shipped") return "Your order has shipped.";
  if (event == "order.out_for_delivery") return "Your order is out for delivery.";
  if (event == "order.delivered") return "Your order was delivered.";
  if (event == "order.canceled") return "Your order was canceled.";
  if (event == "order.refunded") return "Your payment was refunded.";
  if (event == "drop.admitted") return "It is your turn: add the drop's products to your cart now.";
  if (event == "drop.won") return "You won the draw: your item is in your cart, held for you.";
  if (event == "waitlist.offered") return "What you waited for is back: it is in your cart, held for you.";
  return "Your order was updated.";
}

}  // namespace stampede
