// The caller's notification inbox, newest first.
#include "server/handlers/handlers.h"

namespace stampede::http::handlers {

void list_notifications(handler_context& ctx, call& c) {
  auto pg = read_paging(c.req);
  if (!pg) return c.fail(bad_limit());
  ctx.eng.list_notifications(c.who.user_id, pg->cursor, pg->limit,
                             answer<page<notification>>(ctx, c, [&ctx](page<notification> p) {
                               return json_response(200, page_json(p, [&](const notification& n) {
                                                      return to_json(n, ctx.settings.pres);
                                                    }));
                             }));
}

}  // namespace stampede::http::handlers
