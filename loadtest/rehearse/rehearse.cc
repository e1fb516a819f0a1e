#include "loadtest/rehearse/rehearse.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "loadtest/rehearse/audit.h"
#include "loadtest/rehearse/options.h"
#include "loadtest/rehearse/report_html.h"
#include "loadtest/rehearse/sale.h"
#include "loadtest/rehearse/setup.h"
#include "loadtest/rehearse/summary.h"

namespace stampede::load {

namespace {

std::string file_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int compare(const rehearse_options& o) {
  std::string error;
  auto a = read_result(o.compare[0], error);
  auto b = a ? read_result(o.compare[1], error) : std::nullopt;
  if (!b) {
    std::fprintf(stderr, "stampede rehearse: %s\n", error.c_str());
    return 2;
  }
  std::string a_name = file_name(o.compare[0]), b_name = file_name(o.compare[1]);
  print_comparison(*a, *b, a_name, b_name, stdout);
  if (!o.report_path.empty() && !write_text(compare_html(*a, *b, a_name, b_name), o.report_path)) {
    std::fprintf(stderr, "stampede rehearse: cannot write %s\n", o.report_path.c_str());
    return 2;
  }
  return 0;
}

// An output file must be writable before anything is sent: a run that writes to the store
// and then cannot say what it found is worse than one refused at once. The file is opened for
// writing (and removed again if this made it).
std::optional<std::string> check_writable(const std::string& path) {
  if (path.empty()) return std::nullopt;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  bool made = fd >= 0;
  if (fd < 0 && errno == EEXIST) fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return "cannot write " + path + ": " + std::strerror(errno);
  ::close(fd);
  if (made) ::unlink(path.c_str());
  return std::nullopt;
}

bool write_outputs(const rehearse_options& o, const run_result& r) {
  bool ok = true;
  if (!o.json_path.empty() && !write_result(r, o.json_path)) {
    std::fprintf(stderr, "stampede rehearse: cannot write %s\n", o.json_path.c_str());
    ok = false;
  }
  if (!o.report_path.empty() && !write_text(report_html(r), o.report_path)) {
    std::fprintf(stderr, "stampede rehearse: cannot write %s\n", o.report_path.c_str());
    ok = false;
  }
  return ok;
}

}  // namespace

int rehearse_main(const std::vector<std::string>& args) {
  rehearse_options o;
  bool help = false;
  if (auto err = parse_rehearse_options(args, o, help)) {
    std::fprintf(stderr, "stampede rehearse: %s\n%s", err->c_str(), rehearse_usage().c_str());
    return 2;
  }
  if (help) {
    std::printf("%s", rehearse_usage().c_str());
    return 0;
  }
  for (const auto* path : {&o.json_path, &o.report_path})
    if (auto err = check_writable(*path)) {
      std::fprintf(stderr, "stampede rehearse: %s\n", err->c_str());
      return 2;
    }
  if (!o.compare.empty()) return compare(o);
  if (o.seed == 0)
    o.seed = std::chrono::system_clock::now().time_since_epoch().count() & 0x7fffffffffff;
  sale_setup setup;
  if (auto err = prepare_sale(o, setup)) {
    std::fprintf(stderr, "stampede rehearse: %s\n", err->c_str());
    return 2;
  }
  std::fprintf(stderr,
               "stampede rehearse: %s (%s, %lld units on hand) opens in %.1f s; %lld shoppers "
               "(%s), %lld watchers%s%s; seed %lld\n",
               setup.product.c_str(), setup.created ? "made here" : "as it was",
               static_cast<long long>(setup.units),
               static_cast<double>(setup.opening_unix_ms - unix_now_ms()) / 1000.0,
               static_cast<long long>(o.shoppers), o.arrival.c_str(),
               static_cast<long long>(o.watchers), setup.drop.empty() ? "" : ", queueing in drop ",
               setup.drop.c_str(), static_cast<long long>(o.seed));
  sale run(o, setup);
  run.run();
  if (!o.quiet) std::fprintf(stderr, "stampede rehearse: auditing the store\n");
  auto result = make_result(o, setup, run, run_audit(setup, run.ledger(), run.watchers()));
  print_summary(result, stdout);
  bool written = write_outputs(o, result);
  if (!result.audit.complete || !result.audit.violations.empty()) return 1;
  return written ? 0 : 2;
}

}  // namespace stampede::load
