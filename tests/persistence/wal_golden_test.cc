// A log written with the first record format (tests/persistence/data/golden-v1.wal), one
// record of every effect type, and the store it replays to, as a client reads it
// (golden-v1.store.json). Whatever changes in the format, the effects or how they apply,
// that log must still decode to the same effects and replay to the same store: records on
// disk outlive the code that wrote them.
//
// The two files were written once by this program with STAMPEDE_WRITE_GOLDEN=<that dir>;
// never regenerate them to make a failing test pass.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "core/shard.h"
#include "persistence/files.h"
#include "persistence/recovery.h"
#include "persistence/wal_format.h"
#include "server/json.h"

namespace stampede::wal {
namespace {

const std::string data_dir = STAMPEDE_GOLDEN_DIR;
constexpr int64_t t0 = 1'795'000'000'000;  // the instant the golden store was written

std::string owned(std::string_view prefix, std::string_view owner, uint64_t sequence) {
  return make_owned_id(prefix, user_tag(owner), sequence);
}

const std::string order_id = owned("ord_", "alice", 3);
const std::string payment_id = owned("pay_", "alice", 5);
const std::string home_id = owned("adr_", "alice", 1);

address home() {
  return address{home_id, "Ada Lovelace", "1 Analytical Way", "Flat 2", "London", "",
                 "N1 9GU", "GB", "+44 20 0000"};
}

order placed_order() {
  order o;
  o.id = order_id;
  o.user_id = "alice";
  o.items = {order_item{"sku-a", "Sneaker \xe2\x80\x94 red", 1250, 2, 2500},
             order_item{"sku-b", "Cap", 900, 1, 900}};
  o.subtotal = 3400;
  o.method = shipping_method{"standard", "Standard", 500};
  o.shipping = 500;
  o.total = 3900;
  o.shipping_address = home();
  o.billing_address = home();
  o.expires_at_ms = t0 + 900'000;
  o.history = {status_change{order_status::pending, t0}};
  o.created_at_ms = o.updated_at_ms = t0;
  return o;
}

order paid_order() {
  order o = placed_order();
  payment p;
  p.id = payment_id;
  p.status = payment_status::succeeded;
  p.method = "card";
  p.amount = 3900;
  p.card_brand = "visa";
  p.card_last4 = "4242";
  p.created_at_ms = t0 + 2000;
  o.payments = {p};
  o.status = order_status::paid;
  o.expires_at_ms.reset();
  o.history.push_back({order_status::paid, t0 + 2000});
  o.updated_at_ms = t0 + 2000;
  return o;
}

notification note(uint64_t sequence, std::string event, const order& o, int64_t at_ms) {
  notification n;
  n.id = owned("ntf_", "alice", sequence);
  n.event = std::move(event);
  n.order_id = o.id;
  n.order_status_now = o.status;
  n.items = o.items;
  n.total = o.total;
  n.message = "golden";
  n.created_at_ms = at_ms;
  return n;
}

cart alice_cart_after() {
  cart c;
  c.lines = {cart_line{"sku-a", "Sneaker \xe2\x80\x94 red", 1250, 1, true}};
  c.held_until_ms = t0 + 603'000;
  return c;
}

// The first format logged the whole answer (type 12); later ones keep it compact. The
// scope and fingerprint are spelled out as that format computed them: a key written then
// must still match a repeat now.
using stored_answer = decltype(idempotency_stored::answer);
idempotency_stored stored(std::string scope_key, std::string fingerprint_of, int64_t at_ms,
                          stored_answer answer) {
  return idempotency_stored{"alice", std::move(scope_key), stable_hash(fingerprint_of), at_ms,
                            std::move(answer)};
}

// One record of every effect type, in an order that makes sense to replay.
std::vector<effect> golden_effects() {
  std::vector<effect> out;
  out.emplace_back(product_created{product_create{
      "sku-a", "Sneaker", "Limited \xe2\x80\x94 one per customer", 1200,
      {"https://cdn.example/a1.jpg", "https://cdn.example/a2.jpg"}, 10, 3, t0 - 60'000,
      std::nullopt}});
  out.emplace_back(product_created{product_create{"sku-b", "Cap", "", 900, {}, 5, 0, {}, {}}});
  out.emplace_back(product_created{product_create{"sku-c", "Scarf", "", 700, {}, 2, 0, {}, {}}});
  product_patch patch;
  patch.name = "Sneaker \xe2\x80\x94 red";
  patch.price = 1250;
  patch.sale_ends_at_ms = std::optional<int64_t>(t0 + 86'400'000);
  out.emplace_back(product_patched{"sku-a", patch});
  out.emplace_back(on_hand_set{"sku-b", 7});
  out.emplace_back(product_deactivated{"sku-c"});
  out.emplace_back(shipping_methods_replaced{{shipping_method{"standard", "Standard", 500},
                                              shipping_method{"express", "Express", 1500},
                                              shipping_method{"pickup", "Pick up", 0}}});
  out.emplace_back(address_added{"alice", home()});
  address spare{owned("adr_", "alice", 2), "Ada", "2 Way", "", "Leeds", "", "LS1", "GB", ""};
  out.emplace_back(address_added{"alice", spare});
  out.emplace_back(address_deleted{"alice", spare.id});
  cart full;
  full.lines = {cart_line{"sku-a", "Sneaker \xe2\x80\x94 red", 1250, 2, true},
                cart_line{"sku-b", "Cap", 900, 1, true}};
  full.held_until_ms = t0 + 600'000;
  out.emplace_back(cart_replaced{"alice", full});
  out.emplace_back(order_placed{placed_order()});
  out.emplace_back(notification_added{"alice", note(4, "order.created", placed_order(), t0)});
  out.emplace_back(stored("POST /v1/orders\nk-order", home_id + "\n\nstandard", t0, placed_order()));
  out.emplace_back(cart_replaced{"alice", alice_cart_after()});
  out.emplace_back(stored("POST /v1/cart/items\nk-add", "sku-a\n1", t0 + 3000,
                          view_of(alice_cart_after())));
  out.emplace_back(order_updated{paid_order()});
  out.emplace_back(notification_added{"alice", note(6, "order.paid", paid_order(), t0 + 2000)});
  payment_result paid{paid_order().payments[0], paid_order()};
  out.emplace_back(stored("POST /v1/orders/" + order_id + "/payments\nk-pay",
                          "card\n3900\n4242\n12/2030", t0 + 2000, paid));
  webhook w{"whk_0000000000000001", "https://hooks.example/stampede", "s3cret-s3cret",
            {"order.*"}, t0 - 1000};
  out.emplace_back(webhooks_replaced{{w}});
  outbox_entry first{owned("evt_", "alice", 7), w.id, note(4, "order.created", placed_order(), t0), t0};
  outbox_entry second{owned("evt_", "alice", 8), w.id, note(6, "order.paid", paid_order(), t0 + 2000),
                      t0 + 2000};
  out.emplace_back(webhook_event_queued{first});
  out.emplace_back(webhook_event_queued{second});
  out.emplace_back(webhook_event_done{first.created_at_ms, first.event_id, first.webhook_id});
  out.emplace_back(product_restored{product_create{"sku-d", "Gloves", "", 400, {}, 4, 1, {}, {}},
                                    false, 9});
  cart lapsed;
  lapsed.lines = {cart_line{"sku-b", "Cap", 900, 2, false}};
  out.emplace_back(cart_replaced{"bob", lapsed});
  return out;
}

std::string encode(const std::vector<effect>& effects) {
  std::string bytes;
  uint64_t sequence = 0;
  for (const auto& e : effects) EXPECT_TRUE(append_record(bytes, ++sequence, e));
  return bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A one-shard engine on a manual clock, opened on a copy of the golden log.
struct golden_store {
  golden_store() : eng(config()) {
    dir = (std::filesystem::path(::testing::TempDir()) /
           ("golden-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/MANIFEST") << "stampede-data-3 shards 1\n";
    std::filesystem::copy_file(data_dir + "/golden-v1.wal", segment_path(dir, 0, 1));
    error = open_data_dir(eng, dir, report, lock);
    if (error.empty()) eng.start();
  }
  ~golden_store() {
    eng.stop();
    pool.join();
    std::filesystem::remove_all(dir);
  }
  engine_config config() {
    engine_config c{1, 600, 900, &clock, false};
    c.user_requests_per_s = 0;
    return c;
  }
  template <class T, class F>
  result<T> call(F&& f) {
    std::promise<result<T>> p;
    auto answer = p.get_future();
    f(reply<T>(pool.get_executor(), [&p](result<T> r) { p.set_value(std::move(r)); }));
    return answer.get();
  }
  manual_clock clock{t0 + 10'000};
  std::string dir;
  data_dir_lock lock;
  engine eng;
  boost::asio::thread_pool pool{1};
  recovery_report report;
  std::string error;
};

// Everything a client reads of the store, rendered as the server renders it.
std::string dump(golden_store& s) {
  namespace json = boost::json;
  http::presentation pres;
  std::string out;
  auto line = [&](const std::string& what, const json::value& v) {
    out += what + " " + json::serialize(v) + "\n";
  };
  auto products = s.call<page<product_view>>([&](auto d) { s.eng.list_products("", 200, "", true, std::move(d)); });
  for (const auto& p : products->items) line("product", http::to_json(p, pres, true));
  line("shipping", http::to_json(s.call<std::vector<shipping_method>>([&](auto d) { s.eng.shipping_methods(std::move(d)); }).value()));
  for (std::string user : {"alice", "bob"}) {
    line(user + " cart", http::to_json(s.call<cart_view>([&](auto d) { s.eng.get_cart(user, std::move(d)); }).value(), pres));
    auto addresses = s.call<std::vector<address>>([&](auto d) { s.eng.list_addresses(user, std::move(d)); });
    for (const auto& a : addresses.value())
      line(user + " address", http::to_json(a));
    auto orders = s.call<page<order>>([&](auto d) { s.eng.list_orders(user, "", 200, std::move(d)); });
    for (const auto& o : orders->items) line(user + " order", http::to_json(o, pres));
    auto inbox = s.call<page<notification>>([&](auto d) { s.eng.list_notifications(user, "", 200, std::move(d)); });
    for (const auto& n : inbox->items) line(user + " notification", http::to_json(n, pres));
  }
  // The stored answers, replayed by repeating each request with its key.
  auto added = s.call<idempotent<cart_view>>([&](auto d) { s.eng.add_item("alice", "sku-a", 1, "k-add", std::move(d)); });
  line("replayed=" + std::to_string(added->replayed) + " add", http::to_json(added->value, pres));
  auto placed = s.call<idempotent<order>>([&](auto d) {
    s.eng.place_order("alice", checkout_request{home_id, "", "standard"}, "k-order", std::move(d));
  });
  line("replayed=" + std::to_string(placed->replayed) + " order", http::to_json(placed->value, pres));
  payment_request pay{"card", 3900, card_details{"4242424242424242", 12, 2030, "123"}};
  auto paid = s.call<idempotent<payment_result>>([&](auto d) { s.eng.pay_order(order_id, "alice", pay, "k-pay", std::move(d)); });
  line("replayed=" + std::to_string(paid->replayed) + " payment", http::to_json(paid->value.pay, pres));
  line("replayed=" + std::to_string(paid->replayed) + " paid", http::to_json(paid->value.order_now, pres));
  auto audit = s.call<stock_audit>([&](auto d) { s.eng.audit(std::move(d)); });
  std::map<std::string, stock_audit_line> sorted(audit->begin(), audit->end());
  for (const auto& [id, l] : sorted)
    out += "stock " + id + " on_hand=" + std::to_string(l.on_hand) + " reserved=" +
           std::to_string(l.reserved) + " committed=" + std::to_string(l.committed) + "\n";
  std::promise<std::string> events;
  s.eng.shard_at(0).post(shard_task{[&events](shard& sh) {
    std::string ids;
    for (const auto& [key, e] : sh.webhooks().events()) ids += e.event_id + " " + e.note.event + ";";
    events.set_value(ids);
  }});
  out += "outbox " + events.get_future().get() + "\n";
  return out;
}

TEST(WalGoldenLog, TheFirstFormatStillDecodesToTheSameEffects) {
  if (const char* to = std::getenv("STAMPEDE_WRITE_GOLDEN"))
    std::ofstream(std::string(to) + "/golden-v1.wal", std::ios::binary) << encode(golden_effects());
  std::string bytes = read_file(data_dir + "/golden-v1.wal");
  ASSERT_FALSE(bytes.empty());
  auto expected = golden_effects();
  size_t at = 0, n = 0;
  while (auto h = record_at(bytes, at)) {
    ASSERT_LT(n, expected.size());
    EXPECT_EQ(h->sequence, n + 1);
    auto e = decode_effect(h->type, std::string_view(bytes).substr(at + header_size, h->length));
    ASSERT_TRUE(e.has_value()) << "record " << n + 1;
    EXPECT_TRUE(*e == expected[n]) << "record " << n + 1 << " decodes to another effect";
    at += header_size + h->length;
    ++n;
  }
  EXPECT_EQ(at, bytes.size());
  EXPECT_EQ(n, expected.size());
}

TEST(WalGoldenLog, TodaysEncoderWritesTheSameBytesForTheSameEffects) {
  EXPECT_TRUE(encode(golden_effects()) == read_file(data_dir + "/golden-v1.wal"));
}

TEST(WalGoldenLog, ItReplaysToTheSameStore) {
  golden_store s;
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.report.records, golden_effects().size());
  std::string now = dump(s);
  if (const char* to = std::getenv("STAMPEDE_WRITE_GOLDEN"))
    std::ofstream(std::string(to) + "/golden-v1.store.json") << now;
  EXPECT_EQ(now, read_file(data_dir + "/golden-v1.store.json"));
  // And the stored answers are the very answers the first format logged.
  auto added = s.call<idempotent<cart_view>>([&](auto d) { s.eng.add_item("alice", "sku-a", 1, "k-add", std::move(d)); });
  ASSERT_TRUE(added.ok() && added->replayed);
  EXPECT_EQ(added->value, view_of(alice_cart_after()));
  auto placed = s.call<idempotent<order>>([&](auto d) {
    s.eng.place_order("alice", checkout_request{home_id, "", "standard"}, "k-order", std::move(d));
  });
  ASSERT_TRUE(placed.ok() && placed->replayed);
  EXPECT_EQ(placed->value, placed_order());
}

}  // namespace
}  // namespace stampede::wal
