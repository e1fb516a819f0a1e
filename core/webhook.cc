#include "core/webhook.h"

#include <array>

#include "core/limits.h"

namespace stampede {

std::optional<http_url> parse_http_url(std::string_view url) {
  http_url out;
  if (url.substr(0, 7) == "http://") {
    url.remove_prefix(7);
  } else if (url.substr(0, 8) == "https://") {
    url.remove_prefix(8);
    out.tls = true;
    out.port = "443";
  } else {
    return std::nullopt;
  }
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) out.target = std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5) return std::nullopt;
    for (char c : port)
      if (c < '0' || c > '9') return std::nullopt;
    if (std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) return std::nullopt;
    out.port = std::string(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return std::nullopt;
  for (char c : authority)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '[' || c == ']' || c == ':'))
      return std::nullopt;
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
  out.host = std::string(authority);
  return out;
}

bool is_order_event(std::string_view event) {
  static constexpr std::array<std::string_view, 9> events{
      "order.created",  "order.paid",      "order.payment_failed",
      "order.processing", "order.shipped", "order.out_for_delivery",
      "order.delivered", "order.canceled", "order.refunded"};
  for (auto e : events)
    if (e == event) return true;
  return false;
}

bool is_notification_event(std::string_view event) {
  return is_order_event(event) || event == "drop.admitted" || event == "drop.won" ||
         event == "waitlist.offered";
}

std::optional<error> validate(const webhook& w) {
  if (w.url.size() > limits::webhook_url_length_max || !parse_http_url(w.url))
    return field_error("url", "url must be https://host[:port][/path] or http://..., at most 2048 bytes");
  if (w.secret.size() < 8 || w.secret.size() > 256)
    return field_error("secret", "secret must be 8..256 bytes");
  if (w.events.empty() || w.events.size() > 20)
    return field_error("events", "events must list 1..20 event names or patterns");
  for (const auto& e : w.events)
    if (e != "*" && e != "order.*" && e != "drop.*" && e != "waitlist.*" && !is_notification_event(e))
      return field_error("events", "unknown event '" + e +
                                       "' (an order event such as order.paid, drop.admitted, drop.won, "
                                       "waitlist.offered, order.*, drop.*, waitlist.* or *)");
  return std::nullopt;
}

}  // namespace stampede
