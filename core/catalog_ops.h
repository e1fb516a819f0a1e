// Catalog operations on the product's shard (API.md, "Catalog"): the admin changes, each
// run in turn per product (product_admin_queue.h) and answered once durable, and the reads.
// New stock (a created product, an on_hand increase) is applied only once its record is
// durable, so no other shard can be granted it on the strength of a record a crash loses.
// Shard-local: call on the product's shard thread (engine.cc gets there).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/catalog.h"
#include "core/reply.h"

namespace stampede {

class shard;

namespace catalog_ops {

void create_product(shard& s, product_create c, reply<product_view> done);
void patch_product(shard& s, std::string id, product_patch p, reply<product_view> done);
void adjust_stock(shard& s, std::string id, int64_t delta, reply<product_view> done);
void deactivate_product(shard& s, std::string id, reply<product_view> done);
result<product_view> get_product(const shard& s, std::string_view id, bool include_inactive);
std::vector<product_view> list_products(const shard& s, std::string_view after, size_t limit,
                                        std::string_view query, bool include_inactive);
// Every shard keeps a copy; the engine replaces all of them.
void replace_shipping_methods(shard& s, std::vector<shipping_method> methods);

}  // namespace catalog_ops
}  // namespace stampede
