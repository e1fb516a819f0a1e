#include "server/email/deliverer.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "core/limits.h"
#include "server/retry.h"

namespace stampede::email {

namespace asio = boost::asio;

using http::backoff_ms;
using http::wall_ms;

struct deliverer::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, email_outbox& outbox, mailer* sender, delivery_settings settings)
      : io(io), outbox(outbox), sender(sender), settings(std::move(settings)), timer(io),
        rng(std::random_device{}()) {}
  asio::io_context& io;
  email_outbox& outbox;  // the shard's: used only on io's thread
  mailer* const sender;
  const delivery_settings settings;
  asio::steady_timer timer;
  std::mt19937_64 rng;
  bool stopped = false;
  struct attempt {
    int failures = 0;
    int64_t next_at_ms = 0;
    bool in_flight = false;
  };
  absl::flat_hash_map<email_outbox::key, attempt> attempts;
  size_t in_flight = 0;
  uint64_t seen_arrivals = ~uint64_t{0};
  int64_t next_due_ms = 0;

  void arm() {
    timer.expires_after(std::chrono::milliseconds(mail_scan_period_ms));
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      self->scan();
      self->arm();
    });
  }

  // Hands what is due to the mailer, oldest first. The outbox is scanned only when
  // something new arrived or a retry is due, not every tick while the mail server is down.
  void scan() {
    if (!outbox.active()) return;  // a replication follower: its primary sends
    int64_t now = wall_ms();
    if (outbox.arrivals() == seen_arrivals && now < next_due_ms) return;
    seen_arrivals = outbox.arrivals();
    next_due_ms = INT64_MAX;
    std::vector<email_outbox::key> give_up;
    for (const auto& [key, entry] : outbox.mails()) {
      attempt& a = attempts[key];
      if (a.in_flight) continue;
      if (now - entry.created_at_ms > limits::email_retry_window_ms) {
        give_up.push_back(key);
        continue;
      }
      if (a.next_at_ms > now) {
        next_due_ms = std::min(next_due_ms, a.next_at_ms);
        continue;
      }
      if (in_flight >= mail_in_flight_max || !submit(key, entry, a)) {
        next_due_ms = now;  // more is due: look again next tick
        break;
      }
    }
    for (const auto& key : give_up) {
      attempts.erase(key);
      outbox.done(key);
    }
  }

  bool submit(const email_outbox::key& key, const email_entry& e, attempt& a) {
    mail_job job{e.event_id, e.order_now.email,
                 order_email{e.note.event, e.note.message, e.order_now, settings.currency,
                             settings.support_email, e.created_at_ms}};
    // The outcome comes back on the mailer thread: it is posted to this shard's thread.
    auto done = [self = shared_from_this(), key](mail_outcome outcome) {
      asio::post(self->io, [self, key, outcome = std::move(outcome)] { self->finished(key, outcome); });
    };
    if (!sender->submit(std::move(job), std::move(done))) return false;
    a.in_flight = true;
    ++in_flight;
    return true;
  }

  void finished(const email_outbox::key& key, const mail_outcome& outcome) {
    --in_flight;
    if (stopped) return;
    auto it = attempts.find(key);
    if (outcome.accepted || outcome.permanent) {
      if (it != attempts.end()) attempts.erase(it);
      if (outbox.active()) outbox.done(key);  // recorded like any change; leaves the outbox
      return;
    }
    if (it == attempts.end()) return;
    attempt& a = it->second;
    a.in_flight = false;
    ++a.failures;
    a.next_at_ms = wall_ms() + backoff_ms(settings.retry_base_ms, a.failures, mail_backoff_max_ms, rng);
    next_due_ms = std::min(next_due_ms, a.next_at_ms);
  }
};

deliverer::deliverer(asio::io_context& io, email_outbox& outbox, mailer* sender,
                     delivery_settings settings)
    : state_(std::make_shared<state>(io, outbox, sender, std::move(settings))) {}

deliverer::~deliverer() = default;

void deliverer::start() {
  if (!state_->sender) return;
  asio::post(state_->io, [st = state_] { st->arm(); });
}

void deliverer::stop() {
  asio::post(state_->io, [st = state_] {
    st->stopped = true;
    st->timer.cancel();
  });
}

}  // namespace stampede::email
