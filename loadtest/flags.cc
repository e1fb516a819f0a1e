#include "loadtest/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "server/config.h"

namespace stampede::load {

namespace {

const flag* find(const std::vector<flag>& table, const std::string& name) {
  for (const auto& f : table)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

std::optional<std::string> parse_flags(const std::vector<flag>& table,
                                       const std::vector<std::string>& args, bool& help,
                                       std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!positional) return "unexpected argument '" + arg + "'";
      positional->push_back(arg);
      continue;
    }
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const flag* f = find(table, arg);
    if (!f) return "unknown flag " + arg;
    std::string value;
    if (!f->value.empty()) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return arg + " needs a value (" + f->value + ")";
      }
    } else if (inline_value) {
      return arg + " takes no value";
    }
    if (auto err = f->set(value)) return arg + ": " + *err;
  }
  return std::nullopt;
}

std::string flags_usage(const std::vector<flag>& table) {
  size_t width = 0;
  for (const auto& f : table) width = std::max(width, f.name.size() + 1 + f.value.size());
  std::string out;
  for (const auto& f : table) {
    std::string head = f.name + (f.value.empty() ? "" : " " + f.value);
    out += "  " + head + std::string(width + 2 - head.size(), ' ') + f.help + "\n";
  }
  return out;
}

std::function<std::optional<std::string>(const std::string&)> set_number(double& out, double min,
                                                                         double max) {
  return [&out, min, max](const std::string& v) -> std::optional<std::string> {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(d))
      return "'" + v + "' is not a number";
    if (d < min || d > max)
      return "must be between " + std::to_string(min) + " and " + std::to_string(max);
    out = d;
    return std::nullopt;
  };
}

std::function<std::optional<std::string>(const std::string&)> set_integer(int64_t& out, int64_t min,
                                                                          int64_t max) {
  return [&out, min, max](const std::string& v) -> std::optional<std::string> {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size())
      return "'" + v + "' is not an integer";
    if (n < min || n > max)
      return "must be between " + std::to_string(min) + " and " + std::to_string(max);
    out = n;
    return std::nullopt;
  };
}

std::function<std::optional<std::string>(const std::string&)> set_text(std::string& out) {
  return [&out](const std::string& v) -> std::optional<std::string> {
    if (v.empty()) return "must not be empty";
    out = v;
    return std::nullopt;
  };
}

std::function<std::optional<std::string>(const std::string&)> set_switch(bool& out) {
  return [&out](const std::string&) -> std::optional<std::string> {
    out = true;
    return std::nullopt;
  };
}

flag target_flag(std::string& url) {
  return {"--target", "URL", "the server (default http://127.0.0.1:8080)", set_text(url)};
}

flag jwt_secret_flag(std::string& secret) {
  return {"--jwt-secret", "S",
          "the server's HS256 secret, for the tokens minted here (default STAMPEDE_JWT_SECRET, "
          "else the development secret)",
          set_text(secret)};
}

std::string default_jwt_secret() {
  if (const char* env = std::getenv("STAMPEDE_JWT_SECRET"); env && *env) return env;
  return http::config{}.jwt_secret;
}

std::string default_gateway_secret() {
  if (const char* env = std::getenv("STAMPEDE_GATEWAY_SECRET"); env && *env) return env;
  return http::config{}.gateway_secret;
}

}  // namespace stampede::load
