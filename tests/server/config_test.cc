// The command line (server/config.h): values refused with a message, and flags given to the
// command that does not take them.
#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace stampede::http {
namespace {

struct parsed {
  std::optional<std::string> error;  // parse_config's, else misplaced_flag's
  config cfg;
};

parsed parse(std::string_view command, std::vector<std::string> args) {
  parsed p;
  bool help = false;
  p.error = parse_config(args, p.cfg, help);
  if (!p.error) p.error = misplaced_flag(command, p.cfg);
  return p;
}

TEST(Config, TokensFlagsAreRefusedByServeAndServesRolesByToken) {
  EXPECT_FALSE(parse("token", {"--sub", "u", "--email", "a@b.co", "--ttl", "60", "--role", "admin"}).error);
  EXPECT_EQ(parse("serve", {"--sub", "alice"}).error, "--sub is a flag of `stampede token`, not of serve");
  EXPECT_TRUE(parse("serve", {"--ttl", "60"}).error);
  EXPECT_TRUE(parse("serve", {"--email", "a@b.co"}).error);
  EXPECT_EQ(parse("serve", {"--role", "admin"}).error,
            "--role admin is for `stampede token`; serve takes auto or replica");
  EXPECT_EQ(parse("token", {"--sub", "u", "--role", "replica"}).error, "token takes --role customer or admin");
}

TEST(Config, ClusterFlagsNeedReplicate) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--node-id", "a"}, {"--advertise", "http://x:1"}, {"--cluster", "shop"},
           {"--takeover-after-ms", "2000"}, {"--replicas", "1"}}) {
    auto p = parse("serve", args);
    ASSERT_TRUE(p.error) << args[0];
    EXPECT_EQ(*p.error, args[0] + " needs --replicate: it sets this node's part in a cluster");
    args.insert(args.end(), {"--replicate", "nats://127.0.0.1:4222"});
    EXPECT_FALSE(parse("serve", args).error) << args[0];
  }
  EXPECT_EQ(parse("serve", {"--role", "replica"}).error,
            "--role replica needs --replicate: it sets this node's part in a cluster");
  EXPECT_FALSE(parse("serve", {"--role", "auto"}).error);  // the default, asked for
  EXPECT_FALSE(parse("serve", {}).error);
}

TEST(Config, VariablesAreNotRefusedAsMisplacedFlags) {
  // One environment file for a cluster node: token and a single serve still start.
  ::setenv("STAMPEDE_NODE_ID", "a", 1);
  ::setenv("STAMPEDE_ROLE", "replica", 1);
  auto serve = parse("serve", {});
  auto token = parse("token", {"--sub", "u"});
  ::unsetenv("STAMPEDE_NODE_ID");
  ::unsetenv("STAMPEDE_ROLE");
  EXPECT_FALSE(serve.error) << *serve.error;
  EXPECT_FALSE(token.error) << *token.error;
}

TEST(Config, TheDemoSwitchTakesOnlyYesOrNo) {
  EXPECT_TRUE(parse("serve", {"--demo"}).cfg.demo);
  EXPECT_TRUE(parse("serve", {"--demo=true"}).cfg.demo);
  EXPECT_FALSE(parse("serve", {"--demo=0"}).cfg.demo);
  EXPECT_EQ(parse("serve", {"--demo=maybe"}).error, "--demo must be 1, true, 0 or false");
  ::setenv("STAMPEDE_DEMO", "maybe", 1);
  auto p = parse("serve", {});
  ::unsetenv("STAMPEDE_DEMO");
  EXPECT_EQ(p.error, "STAMPEDE_DEMO must be 1, true, 0 or false");
}

TEST(Config, TheCurrencyIsAnIso4217CodeInUse) {
  for (const char* code : {"USD", "EUR", "JPY", "GBP", "CHF", "AED", "ZWG", "XCG"})
    EXPECT_EQ(parse("serve", {"--currency", code}).cfg.currency, code) << code;
  EXPECT_EQ(parse("serve", {"--currency", "XYZ"}).error, "--currency is not an ISO 4217 currency code in use");
  EXPECT_EQ(parse("serve", {"--currency", "UDS"}).error, "--currency is not an ISO 4217 currency code in use");
  EXPECT_EQ(parse("serve", {"--currency", "usd"}).error, "--currency must be three capital letters");
  EXPECT_EQ(parse("serve", {"--currency", "D A"}).error, "--currency must be three capital letters");
}

TEST(Config, TheHelpListsTokensFlagsApartAndEveryCommand) {
  std::string u = usage();
  size_t token_part = u.find("token's flags");
  ASSERT_NE(token_part, std::string::npos);
  for (const char* name : {"--sub V", "--email V", "--ttl V"}) EXPECT_GT(u.find(name), token_part) << name;
  EXPECT_LT(u.find("--listen V"), token_part);
  EXPECT_NE(u.find("stampede rehearse"), std::string::npos);
  EXPECT_NE(u.find("default support@example.com"), std::string::npos);
}

}  // namespace
}  // namespace stampede::http
