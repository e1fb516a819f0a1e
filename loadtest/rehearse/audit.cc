#include "loadtest/rehearse/audit.h"

#include <boost/json.hpp>
#include <cctype>
#include <map>

#include "loadtest/sync_client.h"

namespace stampede::load {

namespace json = boost::json;

namespace {

constexpr const char* page_limit = "200";  // API.md's largest page

struct product_state {
  int64_t on_hand = 0, reserved = 0, committed = 0, available = 0;
  int64_t max_per_user = 0, max_per_address = 0, max_per_card = 0;
  bool operator==(const product_state&) const = default;
};
using stock_map = std::map<std::string, product_state>;

struct listed_order {
  std::string id, user, status, address_key;
  std::vector<std::pair<std::string, int64_t>> lines;
  std::vector<std::pair<std::string, std::string>> payments;  // status, card (brand/last4)
};

int64_t int_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : 0;
}
std::string str_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string url_encoded(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Every item of a paginated listing; nullopt (with `error`) when a page cannot be read.
std::optional<std::vector<json::object>> list_all(sync_client& c, const std::string& token,
                                                  const std::string& path, std::string& error) {
  std::vector<json::object> items;
  std::string cursor;
  do {
    std::string url =
        path + "?limit=" + page_limit + (cursor.empty() ? "" : "&cursor=" + url_encoded(cursor));
    auto a = c.request("GET", url, token);
    boost::system::error_code ec;
    auto v = a.status == 200 ? json::parse(a.body, ec) : json::value();
    if (a.status != 200 || ec || !v.is_object() || !v.get_object().contains("items")) {
      error = "GET " + url + ": " +
              (a.status ? std::to_string(a.status) + " " + a.body.substr(0, 200) : a.error);
      return std::nullopt;
    }
    for (auto& it : v.get_object()["items"].as_array())
      if (it.is_object()) items.push_back(std::move(it.get_object()));
    cursor = str_of(v.get_object(), "next_cursor");
  } while (!cursor.empty());
  return items;
}

product_state product_of(const json::object& p) {
  return {int_of(p, "on_hand"),     int_of(p, "reserved"),     int_of(p, "committed"),
          int_of(p, "available"),   int_of(p, "max_per_user"), int_of(p, "max_per_address"),
          int_of(p, "max_per_card")};
}

// Every product's stock as the admin sees it, the rehearsal's availability as shoppers do.
std::optional<stock_map> read_stock(sync_client& c, const sale_setup& s, std::string& error) {
  stock_map stock;
  if (auto all = list_all(c, s.admin_token, "/v1/admin/products", error)) {
    for (const auto& p : *all) stock[str_of(p, "id")] = product_of(p);
  }
  auto mine = c.request("GET", "/v1/admin/products/" + s.product, s.admin_token);
  auto pub = c.request("GET", "/v1/products/" + s.product);
  boost::system::error_code e1, e2;
  auto m = json::parse(mine.body, e1), p = json::parse(pub.body, e2);
  if (mine.status != 200 || pub.status != 200 || e1 || e2 || !m.is_object() || !p.is_object()) {
    error = "cannot read " + s.product + ": admin " + std::to_string(mine.status) + ", public " +
            std::to_string(pub.status);
    return std::nullopt;
  }
  product_state ours = product_of(m.get_object());
  ours.available = int_of(p.get_object(), "available");
  stock[s.product] = ours;
  return stock;
}

std::string normalized_address(const json::object& a) {
  std::string out;
  for (const char* field : {"line1", "line2", "city", "region", "postal_code", "country"}) {
    bool gap = false;
    for (unsigned char ch : str_of(a, field)) {
      if (std::isalnum(ch)) {
        if (gap && !out.empty() && out.back() != '|') out.push_back(' ');
        out.push_back(static_cast<char>(std::tolower(ch)));
        gap = false;
      } else {
        gap = true;
      }
    }
    out.push_back('|');
  }
  return out;
}

listed_order order_of(const json::object& o) {
  listed_order l{str_of(o, "id"), str_of(o, "user_id"), str_of(o, "status"), ""};
  if (auto* a = o.if_contains("shipping_address"); a && a->is_object())
    l.address_key = normalized_address(a->get_object());
  if (auto* items = o.if_contains("items"); items && items->is_array())
    for (const auto& it : items->get_array())
      if (it.is_object())
        l.lines.emplace_back(str_of(it.get_object(), "product_id"),
                             int_of(it.get_object(), "quantity"));
  if (auto* pays = o.if_contains("payments"); pays && pays->is_array())
    for (const auto& p : pays->get_array())
      if (p.is_object()) {
        const auto& po = p.get_object();
        std::string card = str_of(po, "method") == "card"
                               ? str_of(po, "card_brand") + "/" + str_of(po, "card_last4")
                               : "";
        l.payments.emplace_back(str_of(po, "status"), card);
      }
  return l;
}

bool is_paid(const std::string& status) {
  return status == "paid" || status == "processing" || status == "shipped" ||
         status == "out_for_delivery" || status == "delivered";
}

class auditor {
 public:
  auditor(const sale_setup& s, audit_result& out) : setup_(s), out_(out) {}

  void add(const std::string& kind, std::string detail) {
    size_t& n = per_kind_[kind];
    if (++n <= violations_per_kind_max) out_.violations.push_back({kind, std::move(detail)});
  }
  void close_kinds() {
    for (const auto& [kind, n] : per_kind_)
      if (n > violations_per_kind_max)
        out_.violations.push_back(
            {kind, std::to_string(n - violations_per_kind_max) + " more like these"});
  }

  void oversold_and_conservation(const stock_map& stock, const std::vector<listed_order>& orders,
                                 bool conserve);
  void acknowledged(const std::vector<acknowledged_order>& ledger,
                    const std::vector<listed_order>& orders);
  void limits(const stock_map& stock, const std::vector<listed_order>& orders);
  void payments(const std::vector<listed_order>& orders);
  void watchers(const watcher_report& w);
  void tally(const std::vector<listed_order>& orders);

 private:
  const sale_setup& setup_;
  audit_result& out_;
  std::map<std::string, size_t> per_kind_;
};

void auditor::oversold_and_conservation(const stock_map& stock,
                                        const std::vector<listed_order>& orders, bool conserve) {
  std::map<std::string, int64_t> sold;
  for (const auto& o : orders)
    if (o.status != "canceled")
      for (const auto& [p, q] : o.lines) sold[p] += q;
  for (const auto& [id, s] : stock) {
    if (s.committed > s.on_hand || s.reserved + s.committed > s.on_hand || sold[id] > s.on_hand)
      add("oversold", id + ": on hand " + std::to_string(s.on_hand) + ", committed " +
                          std::to_string(s.committed) + ", reserved " + std::to_string(s.reserved) +
                          ", units in orders " + std::to_string(sold[id]));
    if (!conserve) continue;
    if (s.on_hand != sold[id] + s.reserved + s.available)
      add("stock_not_conserved", id + ": on hand " + std::to_string(s.on_hand) + " != sold " +
                                     std::to_string(sold[id]) + " + held " +
                                     std::to_string(s.reserved) + " + available " +
                                     std::to_string(s.available));
    else if (s.committed != sold[id])
      add("stock_not_conserved", id + ": committed " + std::to_string(s.committed) +
                                     " but orders not canceled hold " + std::to_string(sold[id]));
  }
}

void auditor::acknowledged(const std::vector<acknowledged_order>& ledger,
                           const std::vector<listed_order>& orders) {
  std::map<std::string, const listed_order*> by_id;
  for (const auto& o : orders) by_id[o.id] = &o;
  for (const auto& ack : ledger) {
    auto it = by_id.find(ack.id);
    if (it == by_id.end()) {
      add("missing_order", ack.id + " (user " + ack.user + ") was acknowledged and is not listed");
      continue;
    }
    const listed_order& o = *it->second;
    if (o.lines != ack.lines)
      add("missing_order", ack.id + " is listed with other lines than were acknowledged");
    bool fits = ack.status == acknowledged_order::expect::unknown ||
                (ack.status == acknowledged_order::expect::paid
                     ? is_paid(o.status)
                     : o.status == "pending" || o.status == "canceled");
    if (!fits)
      add("missing_order",
          ack.id + " is listed as " + o.status + " but was last acknowledged " +
              (ack.status == acknowledged_order::expect::paid ? "paid" : "pending"));
  }
}

void auditor::limits(const stock_map& stock, const std::vector<listed_order>& orders) {
  // (product, scope key) -> units in orders that are not canceled.
  std::map<std::pair<std::string, std::string>, int64_t> by_user, by_address, by_card;
  for (const auto& o : orders) {
    if (o.status == "canceled") continue;
    std::string card;
    for (const auto& [status, c] : o.payments)
      if ((status == "succeeded" || status == "requires_action") && !c.empty()) card = c;
    for (const auto& [p, q] : o.lines) {
      by_user[{p, o.user}] += q;
      by_address[{p, o.address_key}] += q;
      if (!card.empty()) by_card[{p, card}] += q;
    }
  }
  auto check = [&](const auto& counts, int64_t product_state::*limit, const char* scope) {
    for (const auto& [key, units] : counts) {
      auto s = stock.find(key.first);
      if (s == stock.end() || s->second.*limit <= 0 || units <= s->second.*limit) continue;
      add("limit_exceeded", std::string(scope) + " " + key.second + " holds " +
                                std::to_string(units) + " of " + key.first + " (limit " +
                                std::to_string(s->second.*limit) + ")");
    }
  };
  check(by_user, &product_state::max_per_user, "user");
  check(by_address, &product_state::max_per_address, "address");
  check(by_card, &product_state::max_per_card, "card");
}

void auditor::payments(const std::vector<listed_order>& orders) {
  for (const auto& o : orders) {
    int succeeded = 0;
    for (const auto& p : o.payments) succeeded += p.first == "succeeded";
    if (succeeded > 1 || (is_paid(o.status) && succeeded != 1))
      add("payments",
          o.id + " is " + o.status + " with " + std::to_string(succeeded) + " succeeded payments");
  }
}

void auditor::watchers(const watcher_report& w) {
  if (w.watchers == 0) return;
  if (!w.checked) {
    out_.notes.push_back(
        "the watchers could not be compared: the product's availability could not be read");
    return;
  }
  // A watcher whose connection dropped (a restart, a failover) and that was not back by the
  // end saw nothing the server can be held to: it is reported, not judged.
  if (w.lost > 0)
    out_.notes.push_back(std::to_string(w.lost) + " of " + std::to_string(w.watchers) +
                         " watchers lost their connection and could not reconnect by the end; "
                         "their views were not compared");
  if (w.never > 0 && w.never < w.watchers)
    out_.notes.push_back(std::to_string(w.never) + " of " + std::to_string(w.watchers) +
                         " watchers never received the product's availability");
  if (w.connected == 0) {
    if (w.lost == 0)
      add("watchers", "none of " + std::to_string(w.watchers) +
                          " watchers received the product's availability");
    return;
  }
  if (w.disagreeing == 0) return;
  std::string seen;
  for (const auto& [value, n] : w.last_values)
    seen += (seen.empty() ? "" : ", ") + std::to_string(n) + " on " + std::to_string(value);
  add("watchers", std::to_string(w.disagreeing) + " of " + std::to_string(w.connected) +
                      " watchers ended on another availability than the server's " +
                      std::to_string(w.server_available) + " (" + seen + ")");
}

// The figures count this run's orders only (its shoppers' users); orders of the product from
// before the run are in the stock rules above, and a note says how many there were.
void auditor::tally(const std::vector<listed_order>& orders) {
  const std::string mine = setup_.user_prefix();
  uint64_t others = 0;
  for (const auto& o : orders) {
    int64_t units = 0;
    for (const auto& [p, q] : o.lines)
      if (p == setup_.product) units += q;
    if (units == 0) continue;
    if (o.user.rfind(mine, 0) != 0) {
      ++others;
      continue;
    }
    ++out_.orders;
    if (o.status != "canceled") out_.units_sold += static_cast<uint64_t>(units);
    if (is_paid(o.status)) ++out_.paid_orders, out_.paid_units += static_cast<uint64_t>(units);
  }
  out_.other_orders = others;
  if (others > 0)
    out_.notes.push_back(std::to_string(others) + " orders of " + setup_.product +
                         " not placed by this run (earlier runs, other clients) are not in its "
                         "figures; the stock rules count them");
}

}  // namespace

audit_result run_audit(const sale_setup& setup, const std::vector<acknowledged_order>& ledger,
                       const watcher_report& watchers) {
  audit_result out;
  auditor a(setup, out);
  sync_client c(setup.t, setup.timeout);
  std::string error;
  std::optional<stock_map> before, after;
  std::vector<listed_order> orders;
  // Stock read before and after the listing must agree, or a hold lapsed (or an order came)
  // in between and conservation cannot be judged from these readings.
  for (int reading = 0; reading < audit_readings_max; ++reading) {
    before = read_stock(c, setup, error);
    auto listed = before ? list_all(c, setup.admin_token, "/v1/admin/orders", error) : std::nullopt;
    after = listed ? read_stock(c, setup, error) : std::nullopt;
    if (!after) {
      out.complete = false;
      out.notes.push_back("the store could not be read: " + error);
      return out;
    }
    orders.clear();
    for (const auto& o : *listed) orders.push_back(order_of(o));
    if (*before == *after) break;
  }
  bool steady_stock = *before == *after;
  if (!steady_stock)
    out.notes.push_back("stock kept changing while the audit read it; conservation not judged");
  a.oversold_and_conservation(*after, orders, steady_stock);
  a.acknowledged(ledger, orders);
  a.limits(*after, orders);
  a.payments(orders);
  a.watchers(watchers);
  a.close_kinds();
  a.tally(orders);
  return out;
}

}  // namespace stampede::load
