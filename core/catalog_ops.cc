#include "core/catalog_ops.h"

#include "core/shard.h"
#include "core/text.h"

namespace stampede::catalog_ops {

namespace {

error no_product() { return make_error(error_code::not_found, "no such product"); }

// Text rules for a request only: a product logged before them is still replayed as it was
// (catalog::insert and patch check it against the rules of its own time).
std::optional<error> text_refusal(const std::string* name, const std::string* description) {
  if (name && text::blank(*name)) return field_error("name", "name must not be only spaces");
  if (name && text::has_control(*name))
    return field_error("name", "name must not hold control characters");
  if (description && text::has_control(*description, true))
    return field_error("description", "description must not hold control characters but tabs and line ends");
  return std::nullopt;
}

// Logs a change of product `id` and answers with the product once it is durable. An
// increase of stock is applied only then; anything else at once.
// `limits`: the product's limits across accounts after the change, logged right after it
// (product_limits_set: the product's own encoding predates them).
void log_change(shard& s, const std::string& id, effect e, bool new_stock,
                reply<product_view> done, product_admin_queue::finish_fn finish,
                std::optional<product_limits_set> limits = std::nullopt) {
  auto answer = [&s, id, done = std::move(done), finish = std::move(finish)]() mutable {
    done(view_of(*s.products().find(id)));
    finish();
  };
  if (new_stock) {
    if (!limits) return s.record_when_durable(std::move(e), std::move(answer));
    s.record_when_durable(std::move(e), [] {});
    return s.record_when_durable(std::move(*limits), std::move(answer));
  }
  s.record(std::move(e));
  if (limits) s.record(std::move(*limits));
  s.when_durable(std::move(answer));
}

}  // namespace

void create_product(shard& s, product_create c, reply<product_view> done) {
  if (auto e = validate(c)) return done(std::move(*e));
  if (auto e = text_refusal(&c.name, &c.description)) return done(std::move(*e));
  std::string id = c.id;
  s.product_admin().run(id, [&s, c = std::move(c), done = std::move(done)](auto finish) mutable {
    if (s.products().find(c.id)) {
      done(make_error(error_code::conflict, "a product with this id exists",
                      error_details{.product_id = c.id}));
      return finish();
    }
    std::string id = c.id;
    std::optional<product_limits_set> limits;
    if (c.max_per_address || c.max_per_card)
      limits = product_limits_set{id, c.max_per_address, c.max_per_card};
    log_change(s, id, product_created{std::move(c)}, true, std::move(done), std::move(finish),
               std::move(limits));
  });
}

void patch_product(shard& s, std::string id, product_patch p, reply<product_view> done) {
  if (auto e = validate(p)) return done(std::move(*e));
  if (auto e = text_refusal(p.name ? &*p.name : nullptr, p.description ? &*p.description : nullptr))
    return done(std::move(*e));
  std::string key = id;
  s.product_admin().run(key, [&s, id = std::move(id), p = std::move(p),
                              done = std::move(done)](auto finish) mutable {
    const product* now = s.products().find(id);
    if (!now) {
      done(no_product());
      return finish();
    }
    if (auto e = s.products().check_patch(id, p)) {
      done(std::move(*e));
      return finish();
    }
    bool increase = p.on_hand && *p.on_hand > now->units.on_hand();
    std::optional<product_limits_set> limits;
    if (p.max_per_address || p.max_per_card)
      limits = product_limits_set{id, p.max_per_address.value_or(now->max_per_address),
                                  p.max_per_card.value_or(now->max_per_card)};
    log_change(s, id, product_patched{id, std::move(p)}, increase, std::move(done),
               std::move(finish), std::move(limits));
  });
}

void adjust_stock(shard& s, std::string id, int64_t delta, reply<product_view> done) {
  std::string key = id;
  s.product_admin().run(key, [&s, id = std::move(id), delta,
                              done = std::move(done)](auto finish) mutable {
    const product* now = s.products().find(id);
    if (!now) {
      done(no_product());
      return finish();
    }
    auto target = s.products().check_adjust(id, delta);
    if (!target.ok()) {
      done(std::move(target).err());
      return finish();
    }
    log_change(s, id, on_hand_set{id, target.value()}, delta > 0, std::move(done),
               std::move(finish));
  });
}

void deactivate_product(shard& s, std::string id, reply<product_view> done) {
  std::string key = id;
  s.product_admin().run(key, [&s, id = std::move(id), done = std::move(done)](auto finish) mutable {
    if (!s.products().find(id)) {
      done(no_product());
      return finish();
    }
    log_change(s, id, product_deactivated{id}, false, std::move(done), std::move(finish));
  });
}

result<product_view> get_product(const shard& s, std::string_view id, bool include_inactive) {
  return s.products().get(id, include_inactive);
}

std::vector<product_view> list_products(const shard& s, std::string_view after, size_t limit,
                                        std::string_view query, bool include_inactive) {
  return s.products().list(after, limit, query, include_inactive);
}

void replace_shipping_methods(shard& s, std::vector<shipping_method> methods) {
  s.record(shipping_methods_replaced{std::move(methods)});
}

}  // namespace stampede::catalog_ops
