#include "server/email/mailer.h"

#include <chrono>
#include <cstring>
#include <mutex>

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <curl/curl.h>

namespace stampede::email {

namespace {

// How long the idle thread sleeps between looks at the stop flag (a stop also wakes it).
constexpr int64_t idle_wait_us = 200'000;
constexpr long smtp_permanent_min = 500, smtp_permanent_max = 599;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct curl_url_handle {
  CURLU* h = curl_url();
  ~curl_url_handle() { curl_url_cleanup(h); }
  // The part, or "" when it is absent.
  std::string get(CURLUPart part) const {
    char* value = nullptr;
    if (curl_url_get(h, part, &value, 0) != CURLUE_OK || !value) return "";
    std::string out(value);
    curl_free(value);
    return out;
  }
};

struct upload {
  const std::string* bytes;
  size_t offset = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* u = static_cast<upload*>(user);
  size_t n = std::min(size * count, u->bytes->size() - u->offset);
  std::memcpy(buffer, u->bytes->data() + u->offset, n);
  u->offset += n;
  return n;
}

struct recipients {
  curl_slist* list = nullptr;
  ~recipients() { curl_slist_free_all(list); }
};

mail_outcome refused(const mail_job& job, std::string detail) {
  return mail_outcome{job.event_id, false, true, 0, std::move(detail)};
}

}  // namespace

result<ok_t> check_smtp_url(std::string_view url) {
  auto bad = [](std::string message) { return field_error("smtp_url", std::move(message)); };
  if (url.empty() || url.size() > smtp_url_length_max) return bad("must be 1..2048 characters");
  global_init_once();
  curl_url_handle u;
  if (!u.h) return bad("cannot be parsed");
  if (curl_url_set(u.h, CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK)
    return bad("is not a URL");
  std::string scheme = u.get(CURLUPART_SCHEME);
  if (scheme != "smtp" && scheme != "smtps") return bad("must start with smtp:// or smtps://");
  if (u.get(CURLUPART_HOST).empty()) return bad("must name a host");
  if (!u.get(CURLUPART_USER).empty() || !u.get(CURLUPART_PASSWORD).empty())
    return bad("must not hold credentials (use --smtp-user and --smtp-password)");
  if (!u.get(CURLUPART_QUERY).empty() || !u.get(CURLUPART_FRAGMENT).empty())
    return bad("must not have a query or fragment");
  return ok_t{};
}

struct mailer::queue {
  struct entry {
    mail_job job;
    on_outcome done;
    bool wake_only = false;  // the stop signal
  };
  moodycamel::BlockingConcurrentQueue<entry> q;
};

mailer::mailer(smtp_settings settings, std::shared_ptr<const email_templates> templates)
    : settings_(std::move(settings)),
      templates_(std::move(templates)),
      queue_(std::make_unique<queue>()) {
  global_init_once();
  thread_ = std::thread([this] { run(); });
}

mailer::~mailer() {
  stopping_.store(true, std::memory_order_release);
  queue_->q.enqueue(queue::entry{{}, {}, true});
  thread_.join();
}

bool mailer::submit(mail_job job, on_outcome done) {
  if (queued_.fetch_add(1, std::memory_order_relaxed) >= mail_queue_max) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  if (!queue_->q.enqueue(queue::entry{std::move(job), std::move(done), false})) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void mailer::run() {
  CURL* curl = curl_easy_init();  // kept across jobs: libcurl reuses the SMTP connection
  queue::entry e;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (!queue_->q.wait_dequeue_timed(e, idle_wait_us)) continue;
    if (e.wake_only) continue;
    queued_.fetch_sub(1, std::memory_order_relaxed);
    mail_outcome outcome =
        curl ? send(e.job, curl) : mail_outcome{e.job.event_id, false, false, 0, "no curl handle"};
    (outcome.accepted ? sent_ : failed_).fetch_add(1, std::memory_order_relaxed);
    e.done(std::move(outcome));
    e = queue::entry{};
  }
  if (curl) curl_easy_cleanup(curl);
}

mail_outcome mailer::send(const mail_job& job, void* handle) {
  auto rendered = templates_->render(job.content);
  if (!rendered.ok()) return refused(job, "template: " + rendered.err().message);
  message_fields fields{settings_.from,          job.recipient,         rendered->subject,
                        rendered->text,          rendered->html,        job.event_id,
                        job.content.order_now.id, job.content.at_ms};
  auto message = build_message(fields);
  if (!message.ok()) return refused(job, "message: " + message.err().message);

  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_reset(curl);  // keeps the live connection
  char error_text[CURL_ERROR_SIZE] = {0};
  upload body{&message.value()};
  recipients rcpt;
  rcpt.list = curl_slist_append(nullptr, ("<" + job.recipient + ">").c_str());
  std::string from = "<" + settings_.from.address + ">";
  curl_easy_setopt(curl, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt.list);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &body);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM across threads
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.transfer_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  if (!settings_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
  }
  // A password never crosses the network in clear: with credentials, plain smtp:// must
  // upgrade with STARTTLS; without, it upgrades when the server offers it.
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   settings_.user.empty() ? static_cast<long>(CURLUSESSL_TRY)
                                          : static_cast<long>(CURLUSESSL_ALL));
  CURLcode status = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (status == CURLE_OK) return mail_outcome{job.event_id, true, false, code, ""};
  // RFC 5321 §4.2.1: a 5yz reply is final; a refused login is a setting to fix, not the
  // message's fault, so it is retried like a server that is down.
  bool permanent = code >= smtp_permanent_min && code <= smtp_permanent_max &&
                   status != CURLE_LOGIN_DENIED;
  std::string detail = error_text[0] ? error_text : curl_easy_strerror(status);
  return mail_outcome{job.event_id, false, permanent, code, detail};
}

}  // namespace stampede::email
