#include "core/stock_exchange.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "core/check.h"

namespace stampede {

error stock_refusal(error_code code, const std::string& product_id, const stock_answer& a,
                    int64_t already) {
  error_details d;
  d.product_id = product_id;
  switch (code) {
    case error_code::not_found:
      return make_error(code, "no such product", std::move(d));
    case error_code::sale_not_started:
      d.sale_starts_at_ms = a.sale_starts_at_ms;
      return make_error(code, "the sale has not started", std::move(d));
    case error_code::sale_ended:  // API.md's table gives both codes details.sale_starts_at
      d.sale_starts_at_ms = a.sale_starts_at_ms;
      d.sale_ends_at_ms = a.sale_ends_at_ms;
      return make_error(code, "the sale has ended", std::move(d));
    case error_code::limit_exceeded:
      if (a.terms && a.terms->refused_limit != limit_scope::user) {
        d.scope = std::string(to_string(a.terms->refused_limit));
        d.limit = a.terms->limit;
        d.already = a.terms->limit_already;
        // The message first: an argument moved from may be read after the move (the order
        // arguments are evaluated in is unspecified, and g++ moved d first: "at most 1 per ").
        std::string message = "at most " + std::to_string(*d.limit) + " per " + *d.scope;
        return make_error(code, std::move(message), std::move(d));
      }
      d.scope = std::string(to_string(limit_scope::user));
      d.max_per_user = a.max_per_user;
      d.already = already;
      return make_error(code, "at most " + std::to_string(a.max_per_user) + " per customer",
                        std::move(d));  // reads a, not d: safe
    case error_code::not_admitted:
      return make_error(code, "product " + product_id + " is in drop " + std::string(a.drop_id()) +
                                  ": it needs an admission (Stampede-Admission)",
                        std::move(d));
    default:
      d.available = a.available;
      return make_error(error_code::out_of_stock,
                        "only " + std::to_string(a.available) + " left", std::move(d));
  }
}

void stock_exchange::ask(std::vector<stock_ask> asks, int64_t now_ms, continuation then) {
  gather g;
  g.answers.resize(asks.size());
  // Group the asks by the shard that owns each product: one message per shard.
  absl::InlinedVector<std::pair<uint32_t, std::vector<size_t>>, 4> by_shard;
  for (size_t i = 0; i < asks.size(); ++i) {
    uint32_t owner = routes_.product_shard(asks[i].product_id);
    auto it = std::find_if(by_shard.begin(), by_shard.end(),
                           [&](const auto& group) { return group.first == owner; });
    if (it == by_shard.end()) it = by_shard.insert(it, {owner, {}});
    it->second.push_back(i);
  }
  uint64_t gather_id = next_gather_++;
  absl::InlinedVector<std::pair<uint32_t, stock_request>, 4> outgoing;
  for (auto& [owner, positions] : by_shard) {
    if (owner == index_) {
      for (size_t i : positions) g.answers[i] = gate_.decide(catalog_, asks[i], now_ms);
      continue;
    }
    stock_request r;
    r.token = (gather_id << token_part_bits) | g.positions.size();
    r.reply_shard = index_;
    r.now_ms = now_ms;
    for (size_t i : positions) r.asks.push_back(std::move(asks[i]));
    g.positions.push_back(positions);
    outgoing.emplace_back(owner, std::move(r));
  }
  g.remaining = outgoing.size();
  if (g.remaining == 0) return then(std::move(g.answers));
  g.then = std::move(then);
  pending_.emplace(gather_id, std::move(g));
  for (auto& [owner, r] : outgoing) out_.send(owner, std::move(r));
}

void stock_exchange::on_request(stock_request& m) {
  stock_reply r;
  r.token = m.token;
  for (const auto& a : m.asks) r.answers.push_back(gate_.decide(catalog_, a, m.now_ms));
  out_.send(m.reply_shard, std::move(r));
}

void stock_exchange::on_reply(stock_reply& m) {
  auto it = pending_.find(m.token >> token_part_bits);
  STAMPEDE_CHECK(it != pending_.end());
  gather& g = it->second;
  const auto& positions = g.positions[m.token & ((uint64_t{1} << token_part_bits) - 1)];
  STAMPEDE_CHECK(positions.size() == m.answers.size());
  for (size_t j = 0; j < positions.size(); ++j) g.answers[positions[j]] = std::move(m.answers[j]);
  if (--g.remaining > 0) return;
  auto then = std::move(g.then);
  auto answers = std::move(g.answers);
  pending_.erase(it);
  then(std::move(answers));
}

void stock_exchange::move(stock_move::kind what, const std::string& product_id, int64_t units) {
  send_move(stock_move{what, product_id, units});
}

void stock_exchange::release_limit(const std::string& product_id, limit_scope scope,
                                   std::string key, int64_t units) {
  send_move(stock_move{stock_move::kind::limit_release, product_id, units, scope, std::move(key)});
}

void stock_exchange::send_move(stock_move&& m) {
  uint32_t owner = routes_.product_shard(m.product_id);
  if (owner == index_) return apply(m);
  ++moves_sent_;
  out_.send(owner, std::move(m));
}

void stock_exchange::move_all(std::vector<stock_move> moves, absl::AnyInvocable<void()> applied) {
  absl::InlinedVector<uint32_t, 4> remote;
  for (const auto& m : moves) {
    uint32_t owner = routes_.product_shard(m.product_id);
    if (owner != index_ && std::find(remote.begin(), remote.end(), owner) == remote.end())
      remote.push_back(owner);
    move(m.what, m.product_id, m.units);
  }
  if (!applied) return;
  if (remote.empty()) return applied();
  uint64_t gather_id = next_gather_++;
  gather g;
  g.positions.resize(remote.size());  // a barrier's answer holds nothing
  g.remaining = remote.size();
  g.then = [applied = std::move(applied)](std::vector<stock_answer>) mutable { applied(); };
  pending_.emplace(gather_id, std::move(g));
  for (size_t part = 0; part < remote.size(); ++part) {
    stock_request barrier;
    barrier.token = (gather_id << token_part_bits) | part;
    barrier.reply_shard = index_;
    out_.send(remote[part], std::move(barrier));
  }
}

void stock_exchange::on_move(const stock_move& m) {
  ++moves_received_;
  apply(m);
}

void stock_exchange::apply(const stock_move& m) {
  switch (m.what) {
    case stock_move::kind::release:
      catalog_.release(m.product_id, m.units);
      break;
    case stock_move::kind::commit:
      catalog_.commit(m.product_id, m.units);
      break;
    case stock_move::kind::uncommit:
      catalog_.uncommit(m.product_id, m.units);
      break;
    case stock_move::kind::limit_release:
      gate_.release_limit(m.product_id, m.scope, m.key, m.units);
      break;
  }
}

}  // namespace stampede
