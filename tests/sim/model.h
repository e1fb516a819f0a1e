// The simulator's reference model: what the answers acknowledged so far say the store
// holds (each product's on_hand, each user's cart, address and orders), the requests in
// flight, and the rules every new answer, and the store read back after a restart, must
// agree with. It knows nothing of shards or logs. Single-threaded: the simulator's thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/cart.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "core/errors.h"
#include "core/order.h"
#include "core/reply.h"

namespace stampede::sim {

// The first thing found wrong; the run stops there.
class checker {
 public:
  void fail(std::string what) {
    if (what_.empty()) what_ = std::move(what);
  }
  bool failed() const { return !what_.empty(); }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
};

enum class op : uint8_t {
  create_product,
  add_address,
  add_item,
  set_item,
  remove_item,
  clear_cart,
  place_order,
  pay,
  cancel,
  get_order,
  get_cart,
  settle,
  adjust_stock,
  get_product,
};
std::string_view to_string(op o);

// The sandbox's test cards (API.md), and what each must answer.
struct sandbox_card {
  const char* method;
  const char* number;
  payment_status outcome;
};
inline constexpr sandbox_card sandbox_cards[] = {
    {"card", "4242424242424242", payment_status::succeeded},
    {"card", "4000000000000002", payment_status::failed},
    {"card", "4000000000009995", payment_status::failed},
    {"card", "4000000000003220", payment_status::requires_action},
    {"paypal", "", payment_status::requires_action},
};
inline constexpr int sandbox_card_count = 5;

struct request {
  op what = op::get_cart;
  std::string actor;    // the user, "admin" or "gateway"
  std::string product;  // a product id
  int64_t quantity = 0;  // units, or a stock delta
  std::string order_id;
  std::string payment_id;
  int card = 0;            // into sandbox_cards
  bool settle_succeeded = false;
  std::string describe() const;
};

using units_by_product = std::map<std::string, int64_t>;

struct model_product {
  int64_t price = 0;
  int64_t max_per_user = 0;
  int64_t on_hand = 0;  // as last acknowledged
  bool created = false;
};

struct model_order {
  std::string user_id;
  units_by_product items;
  int64_t total = 0;
  order_status status = order_status::pending;  // as last seen
  // As last seen in an answer given only once durable (a change's): a read answers at
  // once, and may show a change a crash then takes back (see strict_reads).
  order_status durable_status = order_status::pending;
  // The payment deadline while pending. Kept once the order leaves pending (the store then
  // drops it): a crash may take the order back to a durable pending, past that deadline.
  std::optional<int64_t> expires_at_ms;
  bool settle_may_pay = false;  // a succeeded webhook went out since the status was durably seen
  std::vector<std::string> awaiting_settle;  // payments that require action
};

struct model_user {
  std::string address_id;  // empty until acknowledged
  units_by_product cart;
  std::vector<std::string> orders;
  std::optional<request> in_flight;
  bool lost = false;  // in_flight's answer was lost to a crash; the restart decides
};

class model {
 public:
  model(checker& check, const manual_clock& time) : check_(check), clock_(time) {}
  checker& check() { return check_; }

  std::map<std::string, model_product> products;
  std::map<std::string, model_user> users;
  std::map<std::string, model_order> orders;
  std::optional<request> admin_in_flight, gateway_in_flight;
  bool admin_lost = false, gateway_lost = false;

  // The answers, one handler per shape; each checks the answer against the model, then
  // takes what it acknowledges. `r` is the request answered.
  void product_answered(const request& r, const result<product_view>& a);
  void address_answered(const request& r, const result<std::string>& address_id);
  void cart_answered(const request& r, const result<cart_view>& a);
  void order_placed(const request& r, const result<order>& a);
  void payment_answered(const request& r, const result<payment_result>& a);
  void order_answered(const request& r, const result<order>& a);
  void settle_answered(const request& r, const result<ok_t>& a);

  // The model's view of a user's units of a product in the cart and in orders that may
  // still hold stock.
  int64_t units_of(const std::string& user, const std::string& product) const;
  // May order `id` be seen in `status` now, given what is in flight or was lost? From
  // the status last seen, or (`since_durable`) the one last seen in a durable answer.
  bool may_show(const std::string& id, order_status status, bool since_durable = false) const;
  // Reads count as acknowledgements: a state a read showed must survive a crash (off by
  // default: core's reads answer before what they show is durable; BENCHMARKS.md).
  bool strict_reads = false;
  // The cart `u` would have if its request in flight succeeded.
  units_by_product cart_after(const model_user& u) const;
  // The order's payment deadline has passed (the timer may have canceled it, if pending).
  bool expiry_possible(const model_order& o) const;
  // A succeeded webhook for one of the order's payments is in flight or was answered since
  // the order was last seen.
  bool settle_may_pay(const model_order& o) const;

 private:
  void fail(const request& r, const std::string& what);
  bool expected(const request& r, const error& e, std::initializer_list<error_code> allowed);
  void check_cart(const request& r, const cart_view& v, const units_by_product& want);
  void check_order(const request& r, const order& seen, bool durable);
  bool limit_may_refuse(const std::string& user, const std::string& product, int64_t more) const;
  void stock_answered(const request& r, const result<product_view>& a);
  void add_item_answered(const request& r, model_user& u, const result<cart_view>& a);
  void set_item_answered(const request& r, model_user& u, const result<cart_view>& a);

  checker& check_;
  const manual_clock& clock_;
};

}  // namespace stampede::sim
