// The OpenAPI document (server/openapi.h) against the route table it is made from: every row
// is an operation with its method and nothing else is, every row has its notes, every
// schema it names exists, and security follows the table's `who` column.
#include "server/openapi.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>

namespace stampede::http {
namespace {

namespace json = boost::json;

json::object document() {
  return json::parse(openapi_json(api::table())).as_object();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApi, EveryRouteOfTheTableAndTheWebSocketIsAnOperationWithItsMethodAndNothingElseIs) {
  json::object doc = document();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
  std::set<std::string> documented, routed;
  for (const auto& [path, methods] : doc.at("paths").as_object())
    for (const auto& [method, op] : methods.as_object())
      documented.insert(std::string(method) + " " + std::string(path));
  for (const auto& r : api::table())
    routed.insert(lower(r.method) + " " + openapi_path(r, find_operation_note(r.method, r.pattern)));
  routed.insert("get /v1/ws");  // upgraded before the table (http_session::upgrade)
  EXPECT_EQ(documented, routed);
  EXPECT_EQ(documented.size(), api::table().size() + 1);
}

TEST(OpenApi, TheWebSocketUpgradeIsDocumentedWithItsTokenAndItsRefusals) {
  json::object doc = document();
  const json::object& op = doc.at("paths").at("/v1/ws").at("get").as_object();
  const json::object& answers = op.at("responses").as_object();
  for (const char* status : {"101", "400", "401", "431", "503"}) EXPECT_TRUE(answers.contains(status)) << status;
  EXPECT_EQ(answers.size(), 5u);
  const json::array& params = op.at("parameters").as_array();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].at("name").as_string(), "access_token");
  EXPECT_EQ(params[0].at("in").as_string(), "query");
}

TEST(OpenApi, EveryRouteHasNotesNamingEachPathParameter) {
  for (const auto& r : api::table()) {
    SCOPED_TRACE(std::string(r.method) + " " + r.pattern);
    const operation_note* note = find_operation_note(r.method, r.pattern);
    ASSERT_NE(note, nullptr) << "add its row to the notes in server/openapi.cc";
    std::string pattern = r.pattern, params = note->params;
    size_t holes = 0;
    for (size_t at = pattern.find("{}"); at != std::string::npos; at = pattern.find("{}", at + 2)) ++holes;
    size_t names = params.empty() ? 0 : 1 + std::count(params.begin(), params.end(), ',');
    EXPECT_EQ(names, holes);
    EXPECT_EQ(openapi_path(r, note).find("{}"), std::string::npos);
  }
}

void collect_refs(const json::value& v, std::set<std::string>& refs) {
  if (v.is_object()) {
    for (const auto& [k, x] : v.as_object()) {
      if (k == "$ref" && x.is_string()) refs.insert(std::string(x.as_string()));
      collect_refs(x, refs);
    }
  } else if (v.is_array()) {
    for (const auto& x : v.as_array()) collect_refs(x, refs);
  }
}

TEST(OpenApi, EverySchemaNamedExists) {
  json::object doc = document();
  const json::object& schemas = doc.at("components").at("schemas").as_object();
  EXPECT_TRUE(schemas.contains("Error"));
  std::set<std::string> refs;
  collect_refs(doc, refs);
  EXPECT_GT(refs.size(), 20u);
  for (const auto& ref : refs) {
    const std::string prefix = "#/components/schemas/";
    ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
    EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
  }
}

TEST(OpenApi, TokensAreAskedWhereTheTableAsksThemAndErrorsHaveTheErrorShape) {
  json::object doc = document();
  for (const auto& r : api::table()) {
    SCOPED_TRACE(std::string(r.method) + " " + r.pattern);
    const json::object& op = doc.at("paths")
                                 .at(openapi_path(r, find_operation_note(r.method, r.pattern)))
                                 .at(lower(r.method))
                                 .as_object();
    EXPECT_EQ(op.contains("security"), r.who != access::anyone);
    const json::object& answers = op.at("responses").as_object();
    if (r.who == access::admin) {
      EXPECT_TRUE(answers.contains("403"));
    }
    if (r.who != access::anyone) {
      EXPECT_TRUE(answers.contains("429"));
    }
    EXPECT_EQ(answers.contains("415"), r.body == body_kind::json);
    for (const auto& [status, answer] : answers) {
      if (status.front() != '4' && status.front() != '5') continue;
      // /readyz's 503 is its status (starting, standby, replica), the one exception.
      const bool readiness = std::string_view(r.pattern) == "/readyz" && status == "503";
      EXPECT_EQ(json::serialize(answer.at("content").at("application/json").at("schema")),
                readiness ? R"({"$ref":"#/components/schemas/Status"})"
                          : R"({"$ref":"#/components/schemas/Error"})");
    }
  }
}

}  // namespace
}  // namespace stampede::http
