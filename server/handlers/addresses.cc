// The caller's addresses (list, add, delete), and the store's shipping methods (anyone
// reads them; an admin replaces the list).
#include "core/country.h"
#include "server/handlers/handlers.h"

namespace stampede::http::handlers {

namespace {

constexpr size_t shipping_method_id_length_max = limits::product_id_length_max;

reply<std::vector<shipping_method>> methods_answer(handler_context& ctx, call& c) {
  return answer<std::vector<shipping_method>>(ctx, c, [](std::vector<shipping_method> m) {
    return json_response(200, json::object{{"items", to_json(m)}});
  });
}

}  // namespace

void list_addresses(handler_context& ctx, call& c) {
  ctx.eng.list_addresses(c.who.user_id,
                         answer<std::vector<address>>(ctx, c, [](std::vector<address> list) {
                           json::array items;
                           for (const auto& a : list) items.push_back(to_json(a));
                           return json_response(200, json::object{{"items", std::move(items)}});
                         }));
}

void add_address(handler_context& ctx, call& c) {
  reader rd{c.body};
  address a;
  const std::pair<const char*, std::string*> fields[] = {
      {"name", &a.name},     {"line1", &a.line1},   {"line2", &a.line2},
      {"city", &a.city},     {"region", &a.region}, {"postal_code", &a.postal_code},
      {"country", &a.country}, {"phone", &a.phone}};
  for (auto [key, into] : fields) {
    auto v = rd.str(key, limits::address_field_length_max);
    if (v) *into = std::move(*v);
  }
  if (!rd.bad.empty()) return c.fail(bad_field(rd));
  // A missing country is the engine's to report, in its order of required fields.
  if (!a.country.empty() && !is_country_code(a.country))
    return c.fail(field_error("country", "country must be an assigned ISO 3166-1 alpha-2 code such as \"US\""));
  ctx.eng.add_address(c.who.user_id, std::move(a), answer<address>(ctx, c, [](address saved) {
                        return json_response(201, to_json(saved));
                      }));
}

void delete_address(handler_context& ctx, call& c) {
  ctx.eng.delete_address(c.who.user_id, c.params[0],
                         answer<ok_t>(ctx, c, [](ok_t) { return no_content(); }));
}

void shipping_methods(handler_context& ctx, call& c) { ctx.eng.shipping_methods(methods_answer(ctx, c)); }

void admin_replace_shipping_methods(handler_context& ctx, call& c) {
  auto items = c.body.if_contains("items");
  if (!items || !items->is_array() || items->as_array().size() > limits::shipping_methods_max)
    return c.fail(field_error("items", "items must be an array of 1.." +
                                           std::to_string(limits::shipping_methods_max) +
                                           " shipping methods"));
  std::vector<shipping_method> methods;
  for (const auto& v : items->as_array()) {
    if (!v.is_object()) return c.fail(field_error("items", "each item must be an object"));
    reader rd{v.as_object()};
    auto id = rd.str("id", shipping_method_id_length_max);
    auto name = rd.str("name", limits::product_name_length_max);
    auto price = rd.integer("price", 0, limits::price_minor_max);
    if (!rd.bad.empty()) return c.fail(bad_field(rd));
    if (!id || !name || !price)
      return c.fail(field_error("items", "each item needs an id, a name and a price >= 0"));
    methods.push_back({std::move(*id), std::move(*name), *price});
  }
  ctx.eng.replace_shipping_methods(std::move(methods), methods_answer(ctx, c));
}

}  // namespace stampede::http::handlers
