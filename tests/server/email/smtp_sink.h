// The email tests' SMTP sink (smtp_sink.py, on Debian's python3-aiosmtpd) as a child
// process: started on a free loopback port (or a given one, to come back where it was),
// stopped by its PID with SIGTERM when the object goes, also when a test fails, and killed
// by the kernel if the test process dies first. Test-only; one thread.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace stampede::email {

class smtp_sink {
 public:
  // Listens on `port` (0: a free one) and keeps what it accepts in `maildir`.
  smtp_sink(const std::string& maildir, int port = 0) : maildir_(maildir) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::string p = std::to_string(port);
      ::execl(STAMPEDE_PYTHON, STAMPEDE_PYTHON, STAMPEDE_SMTP_SINK, "--port", p.c_str(),
              "--maildir", maildir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[64] = {0};
    if (f && std::fgets(line, sizeof line, f)) std::sscanf(line, "ready %d", &port_);
    if (f) std::fclose(f);
  }
  ~smtp_sink() { stop(); }
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  bool running() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // The messages accepted so far, in order, each as the client sent it after DATA
  // (without the sink's two envelope lines).
  std::vector<std::string> messages() const { return read_maildir(maildir_); }

  static std::vector<std::string> read_maildir(const std::string& dir) {
    std::vector<std::filesystem::path> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".eml") names.push_back(e.path());
    std::sort(names.begin(), names.end());
    std::vector<std::string> out;
    for (const auto& n : names) {
      std::ifstream in(n, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      std::string raw = text.str();
      size_t body = raw.find("\r\n", raw.find("X-Envelope-To:"));
      out.push_back(raw.substr(body + 2));
    }
    return out;
  }

 private:
  std::string maildir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace stampede::email
