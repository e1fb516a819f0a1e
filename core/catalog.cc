#include "core/catalog.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <string>

#include "core/check.h"
#include "core/ids.h"
#include "core/limits.h"

namespace stampede {

product_view view_of(const product& p) {
  return product_view{p.id,
                      p.name,
                      p.description,
                      p.price,
                      p.images,
                      p.max_per_user,
                      p.sale_starts_at_ms,
                      p.sale_ends_at_ms,
                      p.active,
                      p.version,
                      p.units.available(),
                      p.units.on_hand(),
                      p.units.reserved(),
                      p.units.committed(),
                      p.max_per_address,
                      p.max_per_card};
}

namespace {

std::optional<error> check_name(const std::string& name) {
  if (name.empty() || name.size() > limits::product_name_length_max)
    return field_error("name", "name must be 1..200 bytes");
  return std::nullopt;
}
std::optional<error> check_description(const std::string& d) {
  if (d.size() > limits::product_description_length_max)
    return field_error("description", "description is too long");
  return std::nullopt;
}
std::optional<error> check_price(int64_t price) {
  if (price < 0 || price > limits::price_minor_max)
    return field_error("price", "price must be a non-negative integer in minor units");
  return std::nullopt;
}
std::optional<error> check_images(const std::vector<std::string>& images) {
  if (images.size() > limits::product_images_max)
    return field_error("images", "at most 20 images");
  for (const auto& url : images) {
    if (url.empty() || url.size() > limits::product_image_url_length_max)
      return field_error("images", "image URLs must be 1..2048 bytes");
  }
  return std::nullopt;
}
std::optional<error> check_on_hand(int64_t on_hand) {
  if (on_hand < 0 || on_hand > limits::on_hand_max)
    return field_error("on_hand", "on_hand must be 0..1000000000");
  return std::nullopt;
}
std::optional<error> check_account_limit(const char* field, std::optional<int64_t> m) {
  if (m && (*m < 0 || *m > limits::account_limit_max))
    return field_error(field, std::string(field) + " must be 0..1000000");
  return std::nullopt;
}
std::optional<error> check_max_per_user(int64_t m) {
  if (m < 0 || m > limits::max_per_user_max)
    return field_error("max_per_user", "max_per_user must be 0..1000000");
  return std::nullopt;
}
std::optional<error> check_window(std::optional<int64_t> starts, std::optional<int64_t> ends) {
  if (starts && ends && *ends <= *starts)
    return field_error("sale_ends_at", "sale_ends_at must be after sale_starts_at");
  return std::nullopt;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// Each code point lower-cased by glibc's C.UTF-8 tables (which the C library carries built in,
// so every Debian 12 machine has them): "CAFÉ" and "café" fold alike, and so do Greek and
// Cyrillic names. A byte that does not start a well-formed sequence stands for itself.
std::u32string folded(std::string_view s) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    char32_t cp = n == 1 ? b : n == 2 ? b & 0x1F : n == 3 ? b & 0x0F : b & 0x07;
    bool whole = n != 0 && i + n <= s.size();
    for (size_t k = 1; whole && k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) whole = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!whole) {
      out.push_back(b);
      ++i;
      continue;
    }
    out.push_back(utf8 ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), utf8)) : cp);
    i += n;
  }
  return out;
}

// A listing's name filter, made once a listing: the query is looked at and folded once, not
// once a product (a query that matches little walks the whole catalog on the shard's thread).
class name_filter {
 public:
  explicit name_filter(std::string_view query)
      : query_(query), ascii_(is_ascii(query)), folded_(folded(query)) {}

  bool matches(std::string_view name) const {
    if (query_.empty()) return true;
    if (ascii_ && is_ascii(name)) {
      auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
      auto it = std::search(name.begin(), name.end(), query_.begin(), query_.end(),
                            [&](char a, char b) { return lower(a) == lower(b); });
      return it != name.end();
    }
    return folded(name).find(folded_) != std::u32string::npos;
  }

 private:
  std::string_view query_;
  bool ascii_;
  std::u32string folded_;
};

}  // namespace

std::optional<error> validate(const product_create& c) {
  if (!is_valid_product_id(c.id))
    return field_error("id", "id must match [A-Za-z0-9._-]{1,64}");
  if (auto e = check_name(c.name)) return e;
  if (auto e = check_description(c.description)) return e;
  if (auto e = check_price(c.price)) return e;
  if (auto e = check_images(c.images)) return e;
  if (auto e = check_on_hand(c.on_hand)) return e;
  if (auto e = check_max_per_user(c.max_per_user)) return e;
  if (auto e = check_account_limit("max_per_address", c.max_per_address)) return e;
  if (auto e = check_account_limit("max_per_card", c.max_per_card)) return e;
  return check_window(c.sale_starts_at_ms, c.sale_ends_at_ms);
}

std::optional<error> validate(const product_patch& p) {
  if (p.name)
    if (auto e = check_name(*p.name)) return e;
  if (p.description)
    if (auto e = check_description(*p.description)) return e;
  if (p.price)
    if (auto e = check_price(*p.price)) return e;
  if (p.images)
    if (auto e = check_images(*p.images)) return e;
  if (p.on_hand)
    if (auto e = check_on_hand(*p.on_hand)) return e;
  if (p.max_per_user)
    if (auto e = check_max_per_user(*p.max_per_user)) return e;
  if (auto e = check_account_limit("max_per_address", p.max_per_address)) return e;
  if (auto e = check_account_limit("max_per_card", p.max_per_card)) return e;
  return std::nullopt;
}

product* catalog::find_mutable(std::string_view id) {
  auto it = products_.find(as_key(id));
  return it == products_.end() ? nullptr : &it->second;
}

const product* catalog::find(std::string_view id) const {
  auto it = products_.find(as_key(id));
  return it == products_.end() ? nullptr : &it->second;
}

result<product_view> catalog::create(const product_create& c) {
  auto r = insert(c);
  if (!r.ok()) return std::move(r).err();
  return view_of(*r.value());
}

result<const product*> catalog::insert(product_create c) {
  if (auto e = validate(c)) return std::move(*e);
  if (products_.contains(c.id))
    return make_error(error_code::conflict, "a product with this id exists",
                      error_details{.product_id = c.id});
  product p;
  p.id = c.id;
  p.name = std::move(c.name);
  p.description = std::move(c.description);
  p.price = c.price;
  p.images = std::move(c.images);
  p.max_per_user = c.max_per_user;
  p.max_per_address = c.max_per_address;
  p.max_per_card = c.max_per_card;
  p.sale_starts_at_ms = c.sale_starts_at_ms;
  p.sale_ends_at_ms = c.sale_ends_at_ms;
  p.version = 1;
  bool set = p.units.try_set_on_hand(c.on_hand);
  STAMPEDE_CHECK(set);
  ids_.insert(p.id);
  auto [it, inserted] = products_.emplace(std::move(c.id), std::move(p));
  STAMPEDE_CHECK(inserted);
  return &it->second;
}

result<const product*> catalog::restore(product_create c, bool active, uint64_t version) {
  std::string id = c.id;
  auto r = insert(std::move(c));
  if (!r.ok()) return r;
  product* p = find_mutable(id);
  p->active = active;
  p->version = version;
  return p;
}

std::optional<error> catalog::check_patch(std::string_view id, const product_patch& patch) const {
  if (auto e = validate(patch)) return e;
  const product* p = find(id);
  if (!p) return make_error(error_code::not_found, "no such product");
  auto starts = patch.sale_starts_at_ms ? *patch.sale_starts_at_ms : p->sale_starts_at_ms;
  auto ends = patch.sale_ends_at_ms ? *patch.sale_ends_at_ms : p->sale_ends_at_ms;
  if (auto e = check_window(starts, ends)) return e;
  if (patch.on_hand && *patch.on_hand < p->units.reserved() + p->units.committed()) {
    return make_error(error_code::conflict, "on_hand cannot fall below reserved + committed",
                      error_details{.product_id = p->id, .available = p->units.available()});
  }
  return std::nullopt;
}

result<product_view> catalog::patch(std::string_view id, const product_patch& patch) {
  if (auto e = check_patch(id, patch)) return std::move(*e);
  product* p = find_mutable(id);
  auto starts = patch.sale_starts_at_ms ? *patch.sale_starts_at_ms : p->sale_starts_at_ms;
  auto ends = patch.sale_ends_at_ms ? *patch.sale_ends_at_ms : p->sale_ends_at_ms;
  // Every check is done: from here the patch applies whole.
  if (patch.on_hand) {
    STAMPEDE_CHECK(p->units.try_set_on_hand(*patch.on_hand));
  }
  if (patch.name) p->name = *patch.name;
  if (patch.description) p->description = *patch.description;
  if (patch.price) p->price = *patch.price;
  if (patch.images) p->images = *patch.images;
  if (patch.max_per_user) p->max_per_user = *patch.max_per_user;
  if (patch.max_per_address) p->max_per_address = *patch.max_per_address;
  if (patch.max_per_card) p->max_per_card = *patch.max_per_card;
  p->sale_starts_at_ms = starts;
  p->sale_ends_at_ms = ends;
  if (patch.active) p->active = *patch.active;
  ++p->version;
  return view_of(*p);
}

result<int64_t> catalog::check_adjust(std::string_view id, int64_t delta) const {
  const product* p = find(id);
  if (!p) return make_error(error_code::not_found, "no such product");
  if (delta < -limits::on_hand_max || delta > limits::on_hand_max)
    return field_error("delta", "delta must be -" + std::to_string(limits::on_hand_max) + ".." +
                                    std::to_string(limits::on_hand_max));
  int64_t target = p->units.on_hand() + delta;
  if (target > limits::on_hand_max)
    return field_error("delta", "on_hand would leave 0.." + std::to_string(limits::on_hand_max));
  // Removing units that are not there, or that carts and orders hold, is API.md's one rule
  // (409), whether on_hand would end below those or below 0.
  if (target < p->units.reserved() + p->units.committed()) {
    return make_error(error_code::conflict, "on_hand cannot fall below reserved + committed",
                      error_details{.product_id = p->id, .available = p->units.available()});
  }
  return target;
}

result<product_view> catalog::adjust(std::string_view id, int64_t delta) {
  auto target = check_adjust(id, delta);
  if (!target.ok()) return std::move(target).err();
  product* p = find_mutable(id);
  STAMPEDE_CHECK(p->units.try_set_on_hand(target.value()));
  ++p->version;
  return view_of(*p);
}

result<product_view> catalog::deactivate(std::string_view id) {
  product* p = find_mutable(id);
  if (!p) return make_error(error_code::not_found, "no such product");
  if (p->active) {
    p->active = false;
    ++p->version;
  }
  return view_of(*p);
}

result<product_view> catalog::get(std::string_view id, bool include_inactive) const {
  const product* p = find(id);
  if (!p || (!p->active && !include_inactive))
    return make_error(error_code::not_found, "no such product");
  return view_of(*p);
}

std::vector<product_view> catalog::list(std::string_view after, size_t limit,
                                        std::string_view query, bool include_inactive) const {
  std::vector<product_view> out;
  const name_filter wanted(query);
  for (auto it = ids_.upper_bound(as_key(after)); it != ids_.end() && out.size() < limit; ++it) {
    const product& p = products_.find(*it)->second;
    if (!p.active && !include_inactive) continue;
    if (!wanted.matches(p.name)) continue;
    out.push_back(view_of(p));
  }
  return out;
}

const take_pass& stock_ask::pass() const {
  static const take_pass none;
  return terms ? terms->pass : none;
}

stock_answer catalog::decide(const stock_ask& ask, int64_t now_ms, int64_t held_back) {
  stock_answer a;
  product* p = find_mutable(ask.product_id);
  if (!p || !p->active) {
    a.refused = error_code::not_found;
    return a;
  }
  a.name = p->name;
  a.unit_price = p->price;
  a.max_per_user = p->max_per_user;
  a.sale_starts_at_ms = p->sale_starts_at_ms;
  a.sale_ends_at_ms = p->sale_ends_at_ms;
  // Units spoken for by waitlist offers are nobody else's.
  a.available = std::max<int64_t>(0, p->units.available() - held_back);
  // API.md's order: sale window, then the per-user limit, then stock.
  if (p->sale_starts_at_ms && now_ms < *p->sale_starts_at_ms) {
    a.refused = error_code::sale_not_started;
  } else if (p->sale_ends_at_ms && now_ms >= *p->sale_ends_at_ms) {
    a.refused = error_code::sale_ended;
  } else if (p->max_per_user > 0 && ask.already + ask.adding > p->max_per_user) {
    a.refused = error_code::limit_exceeded;
  } else if (ask.units > 0 && ask.take) {
    if (ask.units <= a.available && p->units.try_reserve(ask.units)) {
      reserved_total_ += ask.units;
      a.reserved = true;
      ++p->version;
      a.available = std::max<int64_t>(0, p->units.available() - held_back);
    } else {
      a.refused = error_code::out_of_stock;
    }
  } else if (ask.units > 0 && a.available < ask.units) {
    a.refused = error_code::out_of_stock;
  }
  return a;
}

void catalog::release(std::string_view id, int64_t quantity) {
  product* p = find_mutable(id);
  STAMPEDE_CHECK(p);  // products are deactivated, never erased
  p->units.release(quantity);
  reserved_total_ -= quantity;
  ++p->version;
}

void catalog::commit(std::string_view id, int64_t quantity) {
  product* p = find_mutable(id);
  STAMPEDE_CHECK(p);  // products are deactivated, never erased
  p->units.commit(quantity);
  reserved_total_ -= quantity;
  committed_total_ += quantity;
  ++p->version;
}

// Both change what a product read shows, so both move its version: a rendered answer kept
// by version (the catalog's read cache) must not outlive a recount. A follower applies the
// primary's stock only this way.
void catalog::clear_counts() {
  for (auto& [id, p] : products_) {
    if (p.units.reserved() != 0 || p.units.committed() != 0) ++p.version;
    p.units.restore(p.units.on_hand(), 0, 0);
  }
  reserved_total_ = committed_total_ = 0;
}

bool catalog::add_counts(std::string_view id, int64_t reserved, int64_t committed) {
  product* p = find_mutable(id);
  if (!p) return false;
  // Not through try_reserve: the sum is checked whole by check_counts() afterwards.
  p->units.restore(p->units.on_hand(), p->units.reserved() + reserved,
                   p->units.committed() + committed);
  reserved_total_ += reserved;
  committed_total_ += committed;
  if (reserved != 0 || committed != 0) ++p->version;
  return true;
}

std::string catalog::check_counts() const {
  for (const auto& [id, p] : products_) {
    if (!p.units.invariant_holds())
      return "product " + id + ": " + std::to_string(p.units.reserved()) + " held and " +
             std::to_string(p.units.committed()) + " ordered exceed on_hand " +
             std::to_string(p.units.on_hand());
  }
  return "";
}

void catalog::uncommit(std::string_view id, int64_t quantity) {
  product* p = find_mutable(id);
  STAMPEDE_CHECK(p);  // products are deactivated, never erased
  p->units.uncommit(quantity);
  committed_total_ -= quantity;
  ++p->version;
}

bool catalog::set_account_limits(std::string_view id, int64_t max_per_address,
                                 int64_t max_per_card) {
  product* p = find_mutable(id);
  if (!p) return false;
  p->max_per_address = max_per_address;
  p->max_per_card = max_per_card;
  return true;
}

}  // namespace stampede
