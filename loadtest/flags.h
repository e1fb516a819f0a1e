// Command-line flags of the load tools as one table (name, value, help, setter), from which
// both parsing and --help are made, so the help cannot drift from what is parsed. Pure
// functions and values; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stampede::load {

struct flag {
  std::string name;   // "--rate"
  std::string value;  // what it takes, for --help ("R"); empty for a switch
  std::string help;
  // Sets the option from the text (a switch gets ""); returns an error, or nullopt.
  std::function<std::optional<std::string>(const std::string&)> set;
};

// Parses `--name value` and `--name=value`. `--help`/`-h` sets `help`. Arguments that are
// not flags go to `positional` when it is given, and are an error otherwise.
std::optional<std::string> parse_flags(const std::vector<flag>& table,
                                       const std::vector<std::string>& args, bool& help,
                                       std::vector<std::string>* positional = nullptr);
std::string flags_usage(const std::vector<flag>& table);

// Setters for the common kinds of value: a number in [min, max], or text.
std::function<std::optional<std::string>(const std::string&)> set_number(double& out, double min,
                                                                         double max);
std::function<std::optional<std::string>(const std::string&)> set_integer(int64_t& out, int64_t min,
                                                                          int64_t max);
std::function<std::optional<std::string>(const std::string&)> set_text(std::string& out);
std::function<std::optional<std::string>(const std::string&)> set_switch(bool& out);

// The flags every load tool takes: the server, and the secret its tokens are signed with.
flag target_flag(std::string& url);
flag jwt_secret_flag(std::string& secret);

// The JWT secret when no flag gives one: STAMPEDE_JWT_SECRET, else the server's development
// default (so the tools work against `stampede serve --demo` as it starts).
std::string default_jwt_secret();
std::string default_gateway_secret();

}  // namespace stampede::load
