// A blocking HTTP/1.1 client on one keep-alive connection, for the few requests around a load
// run: checking the target is up, creating the product, and the audit's paginated listings
// afterwards. Not for load (that is http_pool). Every request obeys the timeout, connecting
// included: a target that accepts and never answers fails it, it does not hang (the calls are
// asynchronous underneath, since tcp_stream's timer governs only asynchronous operations).
// One owner thread; it runs its own io_context.
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
  static constexpr std::chrono::milliseconds timeout_default{10'000};

  // `timeout`: for connecting, and from sending a request to the whole answer.
  explicit sync_client(target t, std::chrono::milliseconds timeout = timeout_default);
  ~sync_client();
  sync_client(const sync_client&) = delete;
  sync_client& operator=(const sync_client&) = delete;

  struct answer {
    unsigned status = 0;     // 0: no answer; `error` says why
    bool timed_out = false;  // no answer within the timeout (connecting, or the request)
    std::string body;
    std::string error;
    int64_t retry_after_s = -1;
  };
  // One request; a connection the server closed while idle is reopened once (not one that
  // timed out: the request has had its time).
  answer request(std::string_view method, std::string_view path, std::string_view token = {},
                 std::string_view body = {}, std::string_view headers = {});

 private:
  struct state;
  answer attempt(const std::string& wire, std::string_view what);
  void run_io();

  target target_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<state> state_;
};

}  // namespace stampede::load
