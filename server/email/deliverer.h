// Delivers one shard's email outbox (core/email_outbox.h): one deliverer per shard, on the
// shard's own io_context, so it reads the outbox and records what was sent on the shard's
// thread without a lock. Each due mail goes to the mailer thread (mailer.h), whose outcome
// comes back to this io_context as a post. Taken by the server, or refused for good (5xx):
// it leaves the outbox. Anything else is retried with exponential backoff and full jitter
// for limits::email_retry_window_ms. At least once, with one Message-ID per event: a
// restart sends again what the outbox still holds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "core/email_outbox.h"
#include "server/email/mailer.h"

namespace stampede::email {

inline constexpr size_t mail_in_flight_max = 4;            // per shard, on the one mailer thread
inline constexpr int64_t mail_backoff_max_ms = 3'600'000;  // API.md: up to an hour apart
inline constexpr int64_t mail_scan_period_ms = 100;

struct delivery_settings {
  std::string currency;       // amounts as "USD 251.90"
  std::string support_email;  // the contact every mail names
  int64_t retry_base_ms = 1000;
};

class deliverer {
 public:
  // `sender` null: email is off and start() does nothing. It outlives the deliverer.
  deliverer(boost::asio::io_context& io, email_outbox& outbox, mailer* sender,
            delivery_settings settings);
  ~deliverer();
  // Both post to the shard's thread. Outcomes arriving after stop() are ignored (the
  // outbox keeps those mails for the next start).
  void start();
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace stampede::email
