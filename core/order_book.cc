#include "core/order_book.h"

#include "core/check.h"
#include "core/ids.h"

namespace stampede {

order* order_book::find(std::string_view order_id) {
  auto it = orders_.find(as_key(order_id));
  return it == orders_.end() ? nullptr : &it->second;
}

const order* order_book::find(std::string_view order_id) const {
  auto it = orders_.find(as_key(order_id));
  return it == orders_.end() ? nullptr : &it->second;
}

const std::string* order_book::order_of_payment(std::string_view payment_id) const {
  auto it = payment_orders_.find(as_key(payment_id));
  return it == payment_orders_.end() ? nullptr : &it->second;
}

void order_book::index_payments(const order& o) {
  for (const auto& p : o.payments) payment_orders_.try_emplace(p.id, o.id);
}

const order& order_book::place(order&& o) {
  count(o.status, 1);
  index_payments(o);
  if (o.expires_at_ms) deadlines_.emplace(*o.expires_at_ms, o.id);
  by_time_.emplace(o.created_at_ms, o.id);
  std::string id = o.id;
  auto [it, inserted] = orders_.insert_or_assign(std::move(id), std::move(o));
  return it->second;
}

order order_book::update(order&& now) {
  auto it = orders_.find(now.id);
  STAMPEDE_CHECK(it != orders_.end());
  order& slot = it->second;
  count(slot.status, -1);
  count(now.status, 1);
  if (slot.expires_at_ms) deadlines_.erase({*slot.expires_at_ms, slot.id});
  if (now.expires_at_ms) deadlines_.emplace(*now.expires_at_ms, now.id);
  index_payments(now);
  return std::exchange(slot, std::move(now));
}

std::vector<order> order_book::before(std::optional<order_status> status,
                                      std::optional<std::pair<int64_t, std::string>> cursor,
                                      size_t limit) const {
  std::vector<order> out;
  auto it = cursor ? by_time_.lower_bound(*cursor) : by_time_.end();
  while (it != by_time_.begin() && out.size() < limit) {
    --it;
    const order& o = orders_.find(it->second)->second;
    if (status && o.status != *status) continue;
    out.push_back(o);
  }
  return out;
}

std::vector<std::string> order_book::take_due(int64_t now_ms) {
  std::vector<std::string> due;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    due.push_back(deadlines_.begin()->second);
    deadlines_.erase(deadlines_.begin());
  }
  return due;
}

}  // namespace stampede
