#include "core/drop_ops.h"

#include <memory>

#include "absl/functional/any_invocable.h"
#include "core/drop_product_ops.h"
#include "core/drop_user_ops.h"
#include "core/shard.h"
#include "core/topic.h"

namespace stampede::drop_ops {

namespace {

// Rules hand their effects here: logged and applied at once, as every change is.
auto recorder(shard& s) {
  return [&s](drop_effect&& e) {
    std::visit([&s](auto&& x) { s.record(effect(std::move(x))); }, std::move(e));
  };
}

error no_drop() { return make_error(error_code::not_found, "no such drop"); }

template <class T>
void answer_when_durable(shard& s, T value, reply<T> done) {
  s.when_answerable([value = std::move(value), done = std::move(done)]() mutable {
    done(std::move(value));
  });
}

// Runs fn(product_shard) for each of the drop's products, on its shard.
template <class F>
void on_products(shard& s, const drop_definition& d, F fn) {
  for (const auto& product_id : d.product_ids) {
    s.send(s.routes().product_shard(product_id),
           shard_task{[fn, product_id](shard& ps) mutable { fn(ps, product_id); }});
  }
}

// A creation waiting for its products' shards to claim them.
struct claim_round {
  claim_round(drop_definition d, reply<drop_view> r)
      : definition(std::move(d)),
        answers(definition.product_ids.size()),
        remaining(definition.product_ids.size()),
        done(std::move(r)) {}
  drop_definition definition;
  std::vector<std::optional<result<product_supply>>> answers;
  size_t remaining = 0;
  reply<drop_view> done;
};

// Frees the drop's products on their shards; `then` (optional) runs on this shard once
// every one of them has, so an answer given there is seen by a creation that follows it.
void unclaim_all(shard& s, const drop_definition& d, absl::AnyInvocable<void()> then = nullptr) {
  if (!then) {
    on_products(s, d, [id = d.id](shard& ps, const std::string& product_id) {
      drop_product_ops::unclaim(ps, product_id, id);
    });
    return;
  }
  if (d.product_ids.empty()) return then();
  struct round {
    size_t remaining;
    absl::AnyInvocable<void()> then;
  };
  auto r = std::make_shared<round>(round{d.product_ids.size(), std::move(then)});
  uint32_t home = s.index();
  on_products(s, d, [id = d.id, home, r](shard& ps, const std::string& product_id) {
    drop_product_ops::unclaim(ps, product_id, id);
    ps.send(home, shard_task{[r](shard&) {
              if (--r->remaining == 0) r->then();
            }});
  });
}

// Every product answered: the drop is made (with its seed), or the claims made are undone
// and the first refusal, in the definition's order, answers.
void finish_creation(shard& s, claim_round& round) {
  drop_definition& d = round.definition;
  s.drops().end_creating(d.id);
  std::optional<error> refused;
  for (const auto& a : round.answers)
    if (!refused && !a->ok()) refused = a->err();
  std::optional<std::string> seed;
  if (!refused && !(seed = random_bytes(limits::drop_seed_bytes)))
    refused = make_error(error_code::io_error, "no random bytes for the drop's seed");
  if (refused) {
    // Answered once the claims made are undone, so a creation after the 409 finds those
    // products free. Nothing was recorded: no durability to wait for in either mode.
    return unclaim_all(s, d, [done = std::move(round.done), e = std::move(*refused)]() mutable {
      done(std::move(e));
    });
  }
  auto emit = recorder(s);
  s.drops().create(d, std::move(*seed), s.now_ms(), emit);
  drop& made = *s.drops().find(d.id);
  for (size_t i = 0; i < d.product_ids.size(); ++i)
    made.on_supply(d.product_ids[i], round.answers[i]->value());
  answer_when_durable(s, made.view(s.now_ms()), std::move(round.done));
}

// Sends the pushes `changes` of drop `drop_id` to every shard watching them.
void deliver(shard& s, const std::string& drop_id,
             std::vector<std::pair<std::string, ticket_view>> changes) {
  if (changes.empty()) return;
  std::vector<std::vector<std::pair<std::string, ticket_view>>> by_shard(s.routes().shard_count());
  for (auto& [user, view] : changes) {
    std::string key = topic_key(topic{topic_kind::queue, drop_id, user});
    const auto* counts = s.live().watchers(key);
    if (!counts) continue;
    for (uint32_t i = 0; i < counts->size(); ++i)
      if ((*counts)[i] > 0) by_shard[i].emplace_back(key, view);
  }
  for (uint32_t i = 0; i < by_shard.size(); ++i) {
    if (by_shard[i].empty()) continue;
    s.send(i, shard_task{[batch = std::move(by_shard[i])](shard& home) {
             if (auto* sink = home.live().sink())
               for (const auto& [key, view] : batch) sink->ticket_changed(key, view);
           }});
  }
}

// What one drop's tick decided, sent on once its records are durable: nobody hears of an
// admission, a pick or a sell-out that a crash could take back.
void send_outcome(shard& s, drop& d, drop_tick_outcome out, int64_t now_ms) {
  // Every watched ticket at most once a second; admissions and a sell-out at once.
  std::vector<std::pair<std::string, ticket_view>> changes;
  if (out.sold_out_now || now_ms - d.last_push_ms() >= limits::drop_ticket_push_period_ms) {
    changes = d.pushes(now_ms, s.signer(), nullptr);
  } else if (!out.admitted.empty()) {
    changes = d.pushes(now_ms, s.signer(), &out.admitted);
  }
  bool nothing = changes.empty() && out.admitted.empty() && out.grants.empty() &&
                 out.holds_to_check.empty() && !out.sold_out_now;
  if (nothing) return;
  s.when_durable([&s, id = d.id(), products = d.definition().product_ids, out = std::move(out),
                  drawn_at = d.definition().draw_closes_at_ms.value_or(0),
                  changes = std::move(changes)]() mutable {
    uint32_t home = s.index();
    for (const auto& u : out.admitted)
      s.send(s.routes().user_shard(u), shard_task{[u, id](shard& us) {
               drop_user_ops::notify(us, u, "drop.admitted", id, "");
             }});
    for (const auto& u : out.grants)
      s.send(s.routes().user_shard(u), shard_task{[u, id, products, drawn_at, home](shard& us) {
               drop_user_ops::place_win(us, u, id, products, drawn_at, home);
             }});
    for (const auto& u : out.holds_to_check)
      s.send(s.routes().user_shard(u), shard_task{[u, id, products, drawn_at, home](shard& us) {
               drop_user_ops::check_win_hold(us, u, id, products, drawn_at, home);
             }});
    if (out.sold_out_now)
      for (const auto& product_id : products)
        s.send(s.routes().product_shard(product_id), shard_task{[product_id, id](shard& ps) {
                 drop_product_ops::mark_sold_out(ps, product_id, id);
               }});
    deliver(s, id, std::move(changes));
  });
}

}  // namespace

void create_drop(shard& s, drop_definition d, reply<drop_view> done) {
  if (auto e = s.drops().check_create(d, s.now_ms())) return done(std::move(*e));
  if (!s.drops().begin_creating(d.id))
    return done(make_error(error_code::conflict, "drop " + d.id + " is being created"));
  drop_claim claim{d.id, d.mode, d.opens_at_ms, false};
  auto round = std::make_shared<claim_round>(std::move(d), std::move(done));
  uint32_t home = s.index();
  const auto& products = round->definition.product_ids;
  for (size_t i = 0; i < products.size(); ++i) {
    s.send(s.routes().product_shard(products[i]),
           shard_task{[round, i, claim, home, product_id = products[i]](shard& ps) mutable {
             auto answer = drop_product_ops::claim(ps, product_id, claim);
             ps.send(home, shard_task{[round = std::move(round), i,
                                       answer = std::move(answer)](shard& hs) mutable {
                       round->answers[i] = std::move(answer);
                       if (--round->remaining == 0) finish_creation(hs, *round);
                     }});
           }});
  }
}

void get_drop(shard& s, std::string drop_id, reply<drop_view> done) {
  const drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  done(d->view(s.now_ms()));
}

void command(shard& s, std::string drop_id, drop_command what, reply<drop_view> done) {
  drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  bool was_closed = d->closed();
  // Closing is for good: a pause or a resume would change nothing, and saying 200 would
  // tell the caller it did. Closing again is answered as the first close was.
  if (was_closed && what != drop_command::close)
    return done(make_error(error_code::conflict, "the drop is closed: it admits nobody again"));
  auto emit = recorder(s);
  switch (what) {
    case drop_command::pause: d->pause(emit); break;
    case drop_command::resume: d->resume(emit); break;
    case drop_command::close: d->close(emit); break;
  }
  // A closed drop's products are sold freely again, once the close is durable; the answer
  // waits until their shards have freed them (with --durability async it goes first, as
  // every answer there does), so a drop created after it may take them.
  const bool just_closed = d->closed() && !was_closed;
  if (!just_closed) return answer_when_durable(s, d->view(s.now_ms()), std::move(done));
  if (s.config().answer_before_durable) {
    s.when_durable([&s, def = d->definition()] { unclaim_all(s, def); });
    return answer_when_durable(s, d->view(s.now_ms()), std::move(done));
  }
  s.when_durable([&s, def = d->definition(), view = d->view(s.now_ms()),
                  done = std::move(done)]() mutable {
    unclaim_all(s, def, [view = std::move(view), done = std::move(done)]() mutable {
      done(std::move(view));
    });
  });
}

void join_queue(shard& s, std::string drop_id, std::string user_id,
                reply<created<ticket_view>> done) {
  drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  auto emit = recorder(s);
  auto joined = d->join(user_id, s.now_ms(), emit);
  if (!joined.ok()) return done(std::move(joined).err());
  auto view = d->ticket(user_id, s.now_ms(), s.signer());
  answer_when_durable(s, created<ticket_view>{std::move(view).value(), joined.value()},
                      std::move(done));
}

void get_ticket(shard& s, std::string drop_id, std::string user_id, reply<ticket_view> done) {
  drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  done(d->ticket(user_id, s.now_ms(), s.signer()));
}

void leave_queue(shard& s, std::string drop_id, std::string user_id, reply<ok_t> done) {
  drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  auto emit = recorder(s);
  auto left = d->leave(user_id, emit);
  if (!left.ok()) return done(std::move(left).err());
  answer_when_durable(s, ok_t{}, std::move(done));
}

void enter_draw(shard& s, std::string drop_id, std::string user_id,
                reply<created<entry_view>> done) {
  drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  auto emit = recorder(s);
  auto entered = d->enter(user_id, s.now_ms(), emit);
  if (!entered.ok()) return done(std::move(entered).err());
  answer_when_durable(s, created<entry_view>{d->entry(user_id).value(), entered.value()},
                      std::move(done));
}

void get_entry(shard& s, std::string drop_id, std::string user_id, reply<entry_view> done) {
  const drop* d = s.drops().find(drop_id);
  if (!d) return done(no_drop());
  done(d->entry(user_id));
}

result<std::optional<ticket_view>> watch(shard& s, const std::string& drop_id,
                                         const std::string& user_id) {
  drop* d = s.drops().find(drop_id);
  if (!d) return no_drop();
  d->watch(user_id, +1, s.now_ms());
  // The snapshot is the view the watcher now has: later pushes are what changes from it.
  std::vector<std::string> one{user_id};
  auto first = d->pushes(s.now_ms(), s.signer(), &one);
  if (!first.empty()) return std::optional<ticket_view>(std::move(first.front().second));
  auto now = d->ticket(user_id, s.now_ms(), s.signer());
  if (!now.ok()) return std::optional<ticket_view>();
  return std::optional<ticket_view>(std::move(now).value());
}

void unwatch(shard& s, const std::string& drop_id, const std::string& user_id) {
  if (drop* d = s.drops().find(drop_id)) d->watch(user_id, -1, s.now_ms());
}

void supply(shard& s, const std::string& drop_id, const std::string& product_id,
            const product_supply& now) {
  if (drop* d = s.drops().find(drop_id)) d->on_supply(product_id, now);
}

void admission_used(shard& s, const std::string& drop_id, const std::string& user_id) {
  auto emit = recorder(s);
  if (drop* d = s.drops().find(drop_id)) d->admission_used(user_id, emit);
}

void converted(shard& s, const std::string& drop_id, const std::string& user_id) {
  auto emit = recorder(s);
  if (drop* d = s.drops().find(drop_id)) d->converted(user_id, emit);
}

void grant_answered(shard& s, const std::string& drop_id, const std::string& user_id,
                    result<int64_t> held_until_ms) {
  auto emit = recorder(s);
  if (drop* d = s.drops().find(drop_id)) d->grant_answered(user_id, std::move(held_until_ms), emit);
}

void hold_checked(shard& s, const std::string& drop_id, const std::string& user_id,
                  drop::hold_outcome outcome, int64_t held_until_ms) {
  auto emit = recorder(s);
  if (drop* d = s.drops().find(drop_id)) d->hold_checked(user_id, outcome, held_until_ms, emit);
}

void tick(shard& s, int64_t now_ms) {
  if (s.drops().size() == 0) return;
  auto emit = recorder(s);
  s.drops().for_each([&](drop& d) {
    if (d.closed()) return;
    send_outcome(s, d, d.tick(now_ms, emit), now_ms);
  });
}

claim_list claims_of(const shard& s) {
  claim_list out;
  s.drops().for_each([&](const drop& d) {
    if (d.closed()) return;
    const drop_definition& def = d.definition();
    for (const auto& product_id : def.product_ids)
      out.emplace_back(product_id, drop_claim{def.id, def.mode, def.opens_at_ms, d.status().sold_out});
  });
  return out;
}

namespace {

// This shard's products' claims, from every shard's; each product's supply goes to its
// drop again at the next tick.
void set_claims(shard& s, const std::vector<claim_list>& all) {
  s.gate().claims().clear();
  for (const auto& part : all) {
    for (const auto& [product_id, claim] : part) {
      if (s.routes().product_shard(product_id) != s.index()) continue;
      s.gate().claims().set(product_id, claim);
      s.gate().forget_supply(product_id);
    }
  }
}

}  // namespace

void restore_claims(shard& s, const std::vector<const shard*>& all) {
  std::vector<claim_list> parts;
  parts.reserve(all.size());
  for (const shard* other : all) parts.push_back(claims_of(*other));
  set_claims(s, parts);
}

void take_over(shard& s, const std::vector<claim_list>& all) {
  set_claims(s, all);
  restore_drops(s);
}

void restore_drops(shard& s) {
  int64_t now = s.now_ms();
  s.drops().for_each([now](drop& d) { d.restored(now); });
}

}  // namespace stampede::drop_ops
