// Every route's handler, grouped by resource, one file each under server/handlers/; the
// route table (server/routes.cc) names them. A handler reads what its route's body and path
// carry, refuses what is malformed (400 naming the field), calls the engine, and renders
// the answer. Shard-local: called on the connection's shard by api::handle.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/handler.h"

namespace stampede::http::handlers {

// catalog.cc: products, public and admin.
void list_products(handler_context& ctx, call& c);
void get_product(handler_context& ctx, call& c);
void admin_list_products(handler_context& ctx, call& c);
void admin_create_product(handler_context& ctx, call& c);
void admin_get_product(handler_context& ctx, call& c);
void admin_patch_product(handler_context& ctx, call& c);
void admin_adjust_stock(handler_context& ctx, call& c);
void admin_deactivate_product(handler_context& ctx, call& c);

// cart.cc: the caller's cart.
void get_cart(handler_context& ctx, call& c);
void add_cart_item(handler_context& ctx, call& c);
void set_cart_item(handler_context& ctx, call& c);
void remove_cart_item(handler_context& ctx, call& c);
void clear_cart(handler_context& ctx, call& c);

// addresses.cc: the caller's addresses, and the store's shipping methods.
void list_addresses(handler_context& ctx, call& c);
void add_address(handler_context& ctx, call& c);
void delete_address(handler_context& ctx, call& c);
void shipping_methods(handler_context& ctx, call& c);
void admin_replace_shipping_methods(handler_context& ctx, call& c);

// orders.cc: checkout, the caller's orders, and the admin's.
void checkout_preview(handler_context& ctx, call& c);
void place_order(handler_context& ctx, call& c);
void list_orders(handler_context& ctx, call& c);
void get_order(handler_context& ctx, call& c);
void cancel_order(handler_context& ctx, call& c);
void admin_list_orders(handler_context& ctx, call& c);
void admin_set_status(handler_context& ctx, call& c);

// payments.cc: paying an order, and the gateway's signed confirmation.
void pay_order(handler_context& ctx, call& c);
void payment_webhook(handler_context& ctx, call& c);

// notifications.cc: the caller's inbox.
void list_notifications(handler_context& ctx, call& c);

// webhooks.cc: webhook registrations (admin).
void admin_add_webhook(handler_context& ctx, call& c);
void admin_list_webhooks(handler_context& ctx, call& c);
void admin_get_webhook(handler_context& ctx, call& c);
void admin_delete_webhook(handler_context& ctx, call& c);

// drops.cc: drops (admin and public), queue tickets, draw entries, product waitlists.
void admin_create_drop(handler_context& ctx, call& c);
void admin_get_drop(handler_context& ctx, call& c);
void admin_pause_drop(handler_context& ctx, call& c);
void admin_resume_drop(handler_context& ctx, call& c);
void admin_close_drop(handler_context& ctx, call& c);
void get_drop(handler_context& ctx, call& c);
void join_queue(handler_context& ctx, call& c);
void get_ticket(handler_context& ctx, call& c);
void leave_queue(handler_context& ctx, call& c);
void enter_draw(handler_context& ctx, call& c);
void get_entry(handler_context& ctx, call& c);
void join_waitlist(handler_context& ctx, call& c);
void get_waitlist_place(handler_context& ctx, call& c);
void leave_waitlist(handler_context& ctx, call& c);
// cluster.cc: replication (API.md, "Replication and failover").
void admin_cluster(handler_context& ctx, call& c);
void admin_snapshot(handler_context& ctx, call& c);
// Does a standby or replica serve this route (product reads, shipping methods, the cluster
// view, operations), or answer not_primary?
bool serves_when_following(std::string_view pattern, handler fn);
// The routes a follower serves from its store (products, shipping methods).
bool reads_the_store(handler fn);
// 503 not_primary naming the primary, when this node replicates and is not the primary.
std::optional<response> not_primary_answer(const handler_context& ctx);
// A node rebuilding its store (starting: a deposed primary, say) serves no reads from it:
// 503 overloaded with Retry-After, rather than a half-built catalog's 404s.
std::optional<response> rebuilding_answer(const handler_context& ctx);
// /readyz of a replicating node that is not the primary: 503 {"status", "primary"}.
std::optional<response> following_readiness(const handler_context& ctx);
// The replication lines of /metrics ("" without --replicate).
std::string replication_metrics(const handler_context& ctx);

// operations.cc: liveness, readiness and metrics.
void healthz(handler_context& ctx, call& c);
void readyz(handler_context& ctx, call& c);
void metrics_text(handler_context& ctx, call& c);
// Process-wide readiness (/readyz): false until the store is loaded and serving.
void set_ready(bool ready);

// pages.cc: the live sale dashboard, and the OpenAPI description of the route table.
void dashboard(handler_context& ctx, call& c);
void openapi(handler_context& ctx, call& c);

}  // namespace stampede::http::handlers
