#include "server/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "server/json_text.h"

namespace stampede::http {
namespace {

TEST(Json, TheStreamedCartEqualsTheRenderedOneEvenWithAwkwardStrings) {
  cart_view c;
  c.items.push_back({"sku-1", "Quote \" backslash \\ newline \n tab \t bell \x07 ü 🎉", 1999, 2,
                     3998, true, 1'795'000'000'123});
  c.items.push_back({"sku-2", "", 0, 1, 0, false, std::nullopt});
  c.subtotal = 3998;
  c.item_count = 3;
  presentation pr{"EUR", "help@example.com"};
  auto streamed = boost::json::parse(cart_text(c, pr));
  EXPECT_EQ(streamed, to_json(c, pr));
  EXPECT_EQ(cart_text(cart_view{}, pr), R"({"items":[],"subtotal":0,"currency":"EUR","item_count":0})");
}

TEST(Json, TheStreamedTicketEqualsTheRenderedOneInEveryState) {
  ticket_view waiting{"drop \"quoted\" \\ ü", ticket_state::waiting, 12, 11, 30, std::nullopt, std::nullopt};
  ticket_view admitted{"d", ticket_state::admitted, 3, 0, 0, "tok.en", 1'795'000'000'123};
  ticket_view expired{"d", ticket_state::expired, std::nullopt, std::nullopt, std::nullopt,
                      std::nullopt, 1'795'000'000'000};
  for (const auto& t : {waiting, admitted, expired, ticket_view{"d", ticket_state::sold_out},
                        ticket_view{"d", ticket_state::closed}})
    EXPECT_EQ(boost::json::parse(ticket_text(t)), to_json(t)) << ticket_text(t);
  EXPECT_EQ(ticket_text(ticket_view{"d", ticket_state::sold_out}),
            R"({"drop_id":"d","state":"sold_out","position":null,"ahead":null,"eta_s":null,)"
            R"("admission_token":null,"admitted_until":null})");
}

TEST(Json, BodiesThatAreNotJsonOrTooDeepAreRefused) {
  EXPECT_TRUE(parse_body(R"({"a":[1,2,{"b":null}]})"));
  EXPECT_FALSE(parse_body("{"));
  EXPECT_FALSE(parse_body(R"({"a":1} trailing)"));
  EXPECT_FALSE(parse_body("\"\xff\""));
  EXPECT_FALSE(parse_body(std::string(json_depth_max + 1, '[') + std::string(json_depth_max + 1, ']')));
  EXPECT_TRUE(parse_body(std::string(json_depth_max - 1, '[') + std::string(json_depth_max - 1, ']')));
}

TEST(Json, TheReaderRefusesWrongTypesAndRanges) {
  auto v = boost::json::parse(R"({"n":5,"big":1e30,"neg":-1,"f":1.5,"s":"x","b":true,"l":["a",1]})");
  reader r{v.as_object()};
  EXPECT_EQ(r.integer("n", 1, 10), 5);
  EXPECT_TRUE(r.bad.empty());
  EXPECT_EQ(r.integer("missing", 1, 10), std::nullopt);
  EXPECT_TRUE(r.bad.empty());
  EXPECT_EQ(r.integer("f", 1, 10), std::nullopt);
  EXPECT_EQ(r.bad, "f");
  reader r2{v.as_object()};
  EXPECT_EQ(r2.integer("big", 0, 100), std::nullopt);
  EXPECT_EQ(r2.bad, "big");
  reader r3{v.as_object()};
  EXPECT_EQ(r3.str("n"), std::nullopt);
  EXPECT_EQ(r3.bad, "n");
  reader r4{v.as_object()};
  EXPECT_EQ(r4.str_list("l", 5, 10), std::nullopt);
  EXPECT_EQ(r4.bad, "l");
}

TEST(Json, DoublesAreWrittenAsDecimalsThatReadBackExactly) {
  namespace json = boost::json;
  EXPECT_EQ(to_json_text(json::object{{"overbook", 0.2}}), R"({"overbook":0.2})");
  EXPECT_EQ(to_json_text(json::array{0.0, 1.5, 3.0, -2.25, 1234.567}), "[0,1.5,3,-2.25,1234.567]");
  double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(to_json_text(json::array{nan, inf, -inf}), "[null,null,null]");
  // Beside the doubles, everything is written as Boost.JSON writes it: escaped keys and
  // strings, integers, booleans and null, at every depth.
  json::value mixed = json::object{{"k \"q\" \\ \n", json::array{1, -2, true, nullptr, "s\t\u00fc"}},
                                   {"deep", json::object{{"x", json::array{json::object{{"p99_ms", 0.1}}}}}},
                                   {"big", 9'007'199'254'740'991LL}, {"u", 18'446'744'073'709'551'615ULL}};
  std::string text = to_json_text(mixed);
  EXPECT_EQ(json::parse(text), mixed);
  EXPECT_NE(text.find(R"("p99_ms":0.1)"), std::string::npos) << text;
  for (double d : {0.1, 1e-7, 123456789.123, 1e300, 5e-324, -0.0}) {
    std::string one = to_json_text(json::array{d});
    EXPECT_EQ(json::parse(one).as_array()[0].to_number<double>(), d) << one;
    EXPECT_EQ(one.find('E'), std::string::npos) << one;
  }
  // No double: byte for byte what Boost.JSON writes.
  json::value plain = json::object{{"a", json::array{1, "two", false}}, {"b", nullptr}};
  EXPECT_EQ(to_json_text(plain), json::serialize(plain));
}

}  // namespace
}  // namespace stampede::http
