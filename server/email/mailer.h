// The mailer thread: renders, builds and sends order emails over SMTP or SMTPS with libcurl,
// one at a time, so no shard thread ever waits on a mail server. submit() may be called
// from any thread and never blocks: it puts the job on a bounded queue (or refuses it when
// full). Each job's outcome goes to the callback that came with it, called on the mailer
// thread; the caller's callback posts it to the shard that owns the job. Retrying is the
// caller's business (its outbox is durable); the mailer sends each job once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "core/errors.h"
#include "server/email/message.h"
#include "server/email/templates.h"

namespace stampede::email {

inline constexpr size_t mail_queue_max = 1024;
inline constexpr int64_t smtp_connect_timeout_ms = 10'000;
inline constexpr int64_t smtp_transfer_timeout_ms = 60'000;
inline constexpr size_t smtp_url_length_max = 2048;

// invalid_request unless `url` is smtp://host[:port][/] or smtps://host[:port][/]
// (checked with libcurl's own URL parser, which is what will read it).
result<ok_t> check_smtp_url(std::string_view url);

struct smtp_settings {
  std::string url;       // check_smtp_url()
  std::string user;      // "": no authentication
  std::string password;
  mailbox from;
  int64_t connect_timeout_ms = smtp_connect_timeout_ms;
  int64_t transfer_timeout_ms = smtp_transfer_timeout_ms;
};

struct mail_job {
  std::string event_id;   // the Message-ID comes from it: one per event, the same at each try
  std::string recipient;  // the order's address
  order_email content;
};

struct mail_outcome {
  std::string event_id;
  bool accepted = false;   // the server took the message (its reply to the end of DATA)
  bool permanent = false;  // refused for good (a 5xx reply, or a message that cannot be built)
  long smtp_code = 0;      // the server's last reply code; 0 when none came
  std::string detail;      // what went wrong, for the log
};

class mailer {
 public:
  using on_outcome = absl::AnyInvocable<void(mail_outcome)>;

  // Starts the thread. The templates are shared, immutable, and outlive every job.
  mailer(smtp_settings settings, std::shared_ptr<const email_templates> templates);
  // Finishes the job in hand, drops the rest unanswered (the caller's outbox keeps them),
  // and joins the thread.
  ~mailer();
  mailer(const mailer&) = delete;
  mailer& operator=(const mailer&) = delete;

  // Any thread; never blocks. False (and `done` is dropped) when mail_queue_max jobs wait.
  bool submit(mail_job job, on_outcome done);

  // For /metrics; any thread.
  size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  uint64_t sent_total() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t failed_total() const { return failed_.load(std::memory_order_relaxed); }

 private:
  struct queue;
  void run();
  mail_outcome send(const mail_job& job, void* curl);

  const smtp_settings settings_;
  const std::shared_ptr<const email_templates> templates_;
  std::unique_ptr<queue> queue_;
  std::atomic<size_t> queued_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace stampede::email
