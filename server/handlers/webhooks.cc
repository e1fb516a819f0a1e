// Webhook registrations (admin): add, list, read one, delete. A registration's secret is
// never shown again.
#include <algorithm>

#include "core/webhook.h"
#include "server/handlers/handlers.h"
#include "server/rfc3339.h"

namespace stampede::http::handlers {

namespace {

// The engine checks the secret's length (8..256) and each pattern too; these keep absurd
// input out before it.
constexpr size_t webhook_secret_length_max = 256;
constexpr size_t webhook_events_max = 20;
constexpr size_t webhook_event_pattern_length_max = 64;

// A registration as the admin sees it: never its secret.
json::value webhook_json(const webhook& w) {
  json::array events;
  for (const auto& e : w.events) events.emplace_back(e);
  return json::object{{"id", w.id},
                      {"url", w.url},
                      {"events", std::move(events)},
                      {"created_at", format_rfc3339_ms(w.created_at_ms)}};
}

}  // namespace

void admin_add_webhook(handler_context& ctx, call& c) {
  reader rd{c.body};
  webhook w;
  auto url = rd.str("url", limits::webhook_url_length_max);
  auto secret = rd.str("secret", webhook_secret_length_max);
  auto events = rd.str_list("events", webhook_events_max, webhook_event_pattern_length_max);
  if (!rd.bad.empty()) return c.fail(bad_field(rd));
  if (!url) return c.fail(field_error("url", "url is required"));
  if (!secret) return c.fail(field_error("secret", "secret is required"));
  w.url = std::move(*url);
  w.secret = std::move(*secret);
  w.events = events ? std::move(*events) : std::vector<std::string>{"order.*"};
  ctx.eng.add_webhook(std::move(w), answer<webhook>(ctx, c, [](webhook made) {
                        return json_response(201, webhook_json(made));
                      }));
}

// Paginated as every list (API.md, Conventions): ordered by id, the cursor the last id shown.
void admin_list_webhooks(handler_context& ctx, call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.fail(bad_limit());
  ctx.eng.list_webhooks(answer<std::vector<webhook>>(ctx, c, [pg = *pg](std::vector<webhook> list) {
    std::sort(list.begin(), list.end(), [](const webhook& a, const webhook& b) { return a.id < b.id; });
    page<webhook> out;
    for (auto& w : list) {
      if (!pg.cursor.empty() && w.id <= pg.cursor) continue;
      if (static_cast<int64_t>(out.items.size()) == pg.limit) {
        out.next_cursor = out.items.back().id;
        break;
      }
      out.items.push_back(std::move(w));
    }
    return json_response(200, page_json(out, webhook_json));
  }));
}

void admin_get_webhook(handler_context& ctx, call& c) {
  ctx.eng.list_webhooks(answer<std::vector<webhook>>(ctx, c, [id = c.params[0]](std::vector<webhook> list) {
    for (const auto& w : list)
      if (w.id == id) return json_response(200, webhook_json(w));
    return http_error(404, "not_found", "no such webhook");
  }));
}

void admin_delete_webhook(handler_context& ctx, call& c) {
  ctx.eng.remove_webhook(c.params[0], answer<ok_t>(ctx, c, [](ok_t) { return no_content(); }));
}

}  // namespace stampede::http::handlers
