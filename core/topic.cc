#include "core/topic.h"

#include "core/ids.h"

namespace stampede {

namespace {

constexpr std::string_view product_prefix = "product:";
constexpr std::string_view order_prefix = "order:";
constexpr std::string_view orders_prefix = "orders:";
constexpr std::string_view queue_prefix = "queue:";
constexpr std::string_view admin_orders_key = "admin:orders";
constexpr std::string_view admin_stats_key = "admin:stats";
constexpr std::string_view order_id_prefix = "ord_";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The part of a topic that names one thing, checked against that thing's id grammar.
std::optional<topic> named(topic_kind kind, std::string_view id) {
  bool valid = kind == topic_kind::order ? owner_tag_of(id, order_id_prefix).has_value()
                                         : is_valid_product_id(id);
  if (!valid) return std::nullopt;
  return topic{kind, std::string(id), {}};
}

}  // namespace

std::optional<topic> parse_topic_key(std::string_view key) {
  if (key == admin_orders_key) return topic{topic_kind::admin_orders, {}, {}};
  if (key == admin_stats_key) return topic{topic_kind::admin_stats, {}, {}};
  if (starts_with(key, product_prefix))
    return named(topic_kind::product, key.substr(product_prefix.size()));
  if (starts_with(key, order_prefix))
    return named(topic_kind::order, key.substr(order_prefix.size()));
  if (starts_with(key, orders_prefix)) {
    std::string_view user = key.substr(orders_prefix.size());
    if (!is_valid_user_id(user)) return std::nullopt;
    return topic{topic_kind::orders, {}, std::string(user)};
  }
  if (starts_with(key, queue_prefix)) {
    // queue:<drop>:<user>; a drop id has no ':', a user id may.
    std::string_view rest = key.substr(queue_prefix.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto t = named(topic_kind::queue, rest.substr(0, colon));
    std::string_view user = rest.substr(colon + 1);
    if (!t || !is_valid_user_id(user)) return std::nullopt;
    t->user = std::string(user);
    return t;
  }
  return std::nullopt;
}

std::string topic_key(const topic& t) {
  switch (t.kind) {
    case topic_kind::product:
      return std::string(product_prefix) + t.id;
    case topic_kind::order:
      return std::string(order_prefix) + t.id;
    case topic_kind::orders:
      return std::string(orders_prefix) + t.user;
    case topic_kind::admin_orders:
      return std::string(admin_orders_key);
    case topic_kind::queue:
      return std::string(queue_prefix) + t.id + ":" + t.user;
    case topic_kind::admin_stats:
      return std::string(admin_stats_key);
  }
  return {};
}

client_topic parse_client_topic(std::string_view name, std::string_view requester, bool admin) {
  client_topic out;
  bool signed_in = !requester.empty();
  if (name == "orders") {
    if (!signed_in) return {std::nullopt, topic_refusal::needs_token};
    out.parsed = topic{topic_kind::orders, {}, std::string(requester)};
  } else if (name == admin_orders_key || name == admin_stats_key) {
    if (!signed_in) return {std::nullopt, topic_refusal::needs_token};
    if (!admin) return {std::nullopt, topic_refusal::needs_admin};
    out.parsed = parse_topic_key(name);
  } else if (starts_with(name, order_prefix)) {
    if (!signed_in) return {std::nullopt, topic_refusal::needs_token};
    out.parsed = named(topic_kind::order, name.substr(order_prefix.size()));
  } else if (starts_with(name, product_prefix)) {
    out.parsed = named(topic_kind::product, name.substr(product_prefix.size()));
  } else if (starts_with(name, queue_prefix)) {
    if (!signed_in) return {std::nullopt, topic_refusal::needs_token};
    out.parsed = named(topic_kind::queue, name.substr(queue_prefix.size()));
    if (out.parsed) out.parsed->user = std::string(requester);
  }
  return out;
}

}  // namespace stampede
