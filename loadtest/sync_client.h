// A blocking HTTP/1.1 client on one keep-alive connection, for the few requests around a load
// run: checking the target is up, creating the product, and the audit's paginated listings
// afterwards. Not for load (that is http_pool). One owner thread; it runs its own io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "loadtest/http_pool.h"

namespace stampede::load {

class sync_client {
 public:
  static constexpr std::chrono::seconds timeout_default{10};

  explicit sync_client(target t, std::chrono::seconds timeout = timeout_default);
  ~sync_client();
  sync_client(const sync_client&) = delete;
  sync_client& operator=(const sync_client&) = delete;

  struct answer {
    unsigned status = 0;  // 0: no answer; `error` says why
    std::string body;
    std::string error;
    int64_t retry_after_s = -1;
  };
  // One request; a connection the server closed while idle is reopened once.
  answer request(std::string_view method, std::string_view path, std::string_view token = {},
                 std::string_view body = {}, std::string_view headers = {});

 private:
  struct state;
  answer attempt(const std::string& wire);

  target target_;
  std::chrono::seconds timeout_;
  std::unique_ptr<state> state_;
};

}  // namespace stampede::load
