// stampede_sim: the deterministic simulator's command line (tests/sim/README.md).
//   stampede_sim --seed S [--verbose]      one seed; --verbose prints every step
//   stampede_sim --seeds N [--from S]      seeds S .. S+N-1 (S defaults to 0)
//   --mutant early-release                 the simulator's own mutant (sim_log.h): stock
//                                          freed before its record is durable
//   --async / --fsync                      force the durability mode (default: per seed)
//   --strict-reads                         a state a read showed must survive a crash too
//   --expect-failure                       exit 0 only if some seed fails (mutation tests)
//   --twice                                run each seed twice; the runs must be identical
//   --digests                              print each seed's digest (reproduction checks)
// A failing seed prints itself and the command that reruns it. The process re-executes
// itself once without address-space randomization, so that hash tables seeded by an
// address iterate alike in every run and a seed reproduces exactly across processes.
#include <sys/personality.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "tests/sim/simulator.h"

namespace {

struct cli {
  uint64_t from = 0;
  uint64_t seeds = 1;
  bool verbose = false, expect_failure = false, twice = false, digests = false;
  stampede::sim::sim_options options;
  std::string mutant;
};

// The rerun line of the seed running now, for a STAMPEDE_CHECK that aborts the process.
char abort_line[512] = "sim: aborted\n";

void on_abort(int) {
  ssize_t n = ::write(STDERR_FILENO, abort_line, std::strlen(abort_line));
  (void)n;
}

// A seed or a count: all digits (strtoull alone reads "abc" as 0, and a run of 0 seeds passes).
bool whole_number(const char* v, uint64_t& out) {
  std::string_view text = v ? v : "";
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool parse(int argc, char** argv, cli& c) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--seed" && whole_number(next(), c.from)) {
      c.seeds = 1;
    } else if (a == "--seeds" && whole_number(next(), c.seeds) && c.seeds > 0) {
    } else if (a == "--from" && whole_number(next(), c.from)) {
    } else if (a == "--mutant" && (v = next()) && std::string(v) == "early-release") {
      c.mutant = v;
      c.options.lie_about_durability = true;
    } else if (a == "--strict-reads") {
      c.options.strict_reads = true;
    } else if (a == "--async" || a == "--fsync") {
      c.options.async = a == "--async";
    } else if (a == "--verbose" || a == "--expect-failure" || a == "--twice" || a == "--digests") {
      (a == "--verbose" ? c.verbose : a == "--twice" ? c.twice : a == "--digests" ? c.digests
                                                                               : c.expect_failure) = true;
    } else {
      std::fprintf(stderr, "stampede_sim: unknown, incomplete or malformed argument %s (see the file's head)\n",
                   a.c_str());
      return false;
    }
  }
  return true;
}

// Once, before anything runs: again without address-space randomization.
void exec_without_aslr(char** argv) {
  int persona = ::personality(0xffffffff);
  if (persona == -1 || (persona & ADDR_NO_RANDOMIZE)) return;
  if (::personality(static_cast<unsigned long>(persona | ADDR_NO_RANDOMIZE)) == -1) return;
  ::execv("/proc/self/exe", argv);
  std::fprintf(stderr, "stampede_sim: cannot re-execute without ASLR (%s); seeds may not "
                       "reproduce across processes\n", std::strerror(errno));
}

std::string rerun_command(const char* self, uint64_t seed, const cli& c) {
  std::string line = std::string(self) + " --seed " + std::to_string(seed);
  if (!c.mutant.empty()) line += " --mutant " + c.mutant;
  if (c.options.async >= 0) line += c.options.async ? " --async" : " --fsync";
  if (c.options.strict_reads) line += " --strict-reads";
  return line + " --verbose";
}

}  // namespace

int main(int argc, char** argv) {
  exec_without_aslr(argv);
  cli c;
  if (!parse(argc, argv, c)) return 2;
  c.options.dir = (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm")
                                                       : std::filesystem::temp_directory_path().string()) +
                  "/stampede-sim-" + std::to_string(::getpid());
  if (c.verbose) c.options.trace = [](const std::string& line) { std::printf("  %s\n", line.c_str()); };
  std::signal(SIGABRT, on_abort);
  auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0, steps = 0, crashes = 0, refused = 0, requests = 0;
  for (uint64_t seed = c.from; seed < c.from + c.seeds; ++seed) {
    std::snprintf(abort_line, sizeof abort_line, "sim: seed %llu aborted: a STAMPEDE_CHECK failed\n  rerun: %s\n",
                  static_cast<unsigned long long>(seed), rerun_command(argv[0], seed, c).c_str());
    auto r = stampede::sim::run_seed(seed, c.options);
    if (c.twice) {
      auto again = stampede::sim::run_seed(seed, c.options);
      if (again.digest != r.digest || again.failure != r.failure)
        r.failure = "the seed ran differently twice in one process (digests " +
                    std::to_string(r.digest) + " and " + std::to_string(again.digest) + ")";
    }
    steps += r.steps;
    crashes += r.crashes;
    refused += r.refused;
    requests += r.requests;
    if (c.digests) std::printf("seed %llu digest %016llx steps %llu\n", static_cast<unsigned long long>(seed),
                               static_cast<unsigned long long>(r.digest), static_cast<unsigned long long>(r.steps));
    if (c.verbose || !r.failure.empty())
      std::printf("sim: seed %llu (%s): %s\n", static_cast<unsigned long long>(seed), r.knobs.c_str(),
                  r.failure.empty() ? "ok" : ("FAILED at step " + std::to_string(r.steps) + ": " + r.failure).c_str());
    if (!r.failure.empty()) {
      ++failed;
      std::printf("  rerun: %s\n", rerun_command(argv[0], seed, c).c_str());
      if (c.expect_failure) {
        std::printf("sim: the mutant was caught by seed %llu, after %llu seeds\n",
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed - c.from + 1));
        return 0;
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("sim: %llu seeds from %llu: %llu failed; %llu steps, %llu requests answered, %llu crashes "
              "(%llu restarts refused as corrupt), %.1f s\n",
              static_cast<unsigned long long>(c.seeds), static_cast<unsigned long long>(c.from),
              static_cast<unsigned long long>(failed), static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(requests), static_cast<unsigned long long>(crashes),
              static_cast<unsigned long long>(refused), seconds);
  if (c.expect_failure) {
    std::printf("sim: the mutant survived every seed\n");
    return 1;
  }
  return failed == 0 ? 0 : 1;
}
