#include "server/dashboard/dashboard.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace stampede::assets {
namespace {

std::string source_file() {
  std::ifstream in(STAMPEDE_DASHBOARD_SOURCE, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Dashboard, TheBinaryCarriesThePageByteForByte) {
  std::string file = source_file();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(std::string(dashboard_html()), file);
}

TEST(Dashboard, ThePageLoadsNothingFromOutsideTheServer) {
  std::string page(dashboard_html());
  // No element names another resource: no src, no stylesheet or script link, no import,
  // no CSS url() (the icon is an empty data: URL so that the browser asks for no favicon).
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(\ssrc\s*=)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(@import|url\s*\()", std::regex::icase)));
  std::smatch m;
  std::string rest = page;
  while (std::regex_search(rest, m, std::regex(R"(href\s*=\s*"([^"]*)\")", std::regex::icase))) {
    EXPECT_EQ(m[1].str(), "data:,") << "a link out of the page: " << m[1];
    rest = m.suffix();
  }
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(fetch\(|XMLHttpRequest|import\s*\()")));
}

TEST(Dashboard, ThePageIsForPhonesToo) {
  std::string page(dashboard_html());
  EXPECT_NE(page.find(R"(<meta name="viewport" content="width=device-width, initial-scale=1">)"),
            std::string::npos);
}

TEST(Dashboard, ThePageFollowsTheAdminStatsTopic) {
  std::string page(dashboard_html());
  EXPECT_NE(page.find(R"(topic: "admin:stats")"), std::string::npos);
  EXPECT_NE(page.find("/v1/ws?access_token="), std::string::npos);
}

}  // namespace
}  // namespace stampede::assets
