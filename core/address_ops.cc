#include "core/address_ops.h"

#include <algorithm>

#include "core/shard.h"

namespace stampede::address_ops {

void list_addresses(shard& s, const std::string& user_id, reply<std::vector<address>> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [](user_turn turn, auto done) { done(turn->addresses); });
}

void add_address(shard& s, const std::string& user_id, address a, reply<address> done) {
  if (auto e = validate(a)) return done(std::move(*e));
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, a = std::move(a)](user_turn turn, auto done) mutable {
    if (turn->addresses.size() >= limits::addresses_per_user_max) {
      return done(make_error(error_code::invalid_request,
                             "at most " + std::to_string(limits::addresses_per_user_max) +
                                 " addresses per customer"));
    }
    a.id = s.next_id("adr_", turn->id);
    s.record(address_added{turn->id, a});
    s.when_answerable([a = std::move(a), done = std::move(done)]() mutable { done(std::move(a)); });
  });
}

void delete_address(shard& s, const std::string& user_id, std::string address_id,
                    reply<ok_t> done) {
  s.users().with_user(user_id, caller::customer, std::move(done),
                      [&s, address_id = std::move(address_id)](user_turn turn, auto done) {
    const auto& list = turn->addresses;
    if (std::none_of(list.begin(), list.end(), [&](const address& a) { return a.id == address_id; }))
      return done(make_error(error_code::not_found, "no such address"));
    s.record(address_deleted{turn->id, address_id});
    s.when_answerable([done = std::move(done)]() mutable { done(ok_t{}); });
  });
}

}  // namespace stampede::address_ops
