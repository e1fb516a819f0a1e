#include "core/drop_book.h"

#include "core/limits.h"

namespace stampede {

std::optional<error> drop_book::check_create(const drop_definition& d, int64_t now_ms) const {
  if (auto e = validate(d, now_ms)) return e;
  if (find(d.id)) return make_error(error_code::conflict, "drop " + d.id + " exists");
  if (drops_.size() >= limits::drops_per_shard_max)
    return make_error(error_code::overloaded, "no room for another drop");
  return std::nullopt;
}

void drop_book::create(drop_definition d, std::string seed, int64_t now_ms, drop_emit emit) {
  emit(drop_created{std::move(d), std::move(seed), now_ms});
}

drop* drop_book::find(std::string_view id) {
  auto it = drops_.find(id);
  return it == drops_.end() ? nullptr : it->second.get();
}

const drop* drop_book::find(std::string_view id) const {
  auto it = drops_.find(id);
  return it == drops_.end() ? nullptr : it->second.get();
}

namespace {
const std::string& drop_id_of(const drop_effect& e) {
  return std::visit(
      [](const auto& x) -> const std::string& {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, drop_created>) {
          return x.definition.id;
        } else {
          return x.drop_id;
        }
      },
      e);
}
}  // namespace

void drop_book::apply(const drop_effect& e) {
  if (const auto* c = std::get_if<drop_created>(&e)) {
    drops_[c->definition.id] = std::make_unique<drop>(c->definition, c->seed, c->created_at_ms);
    return;
  }
  if (drop* d = find(drop_id_of(e))) d->apply(e);
}

}  // namespace stampede
