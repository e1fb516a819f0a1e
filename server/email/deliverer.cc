#include "server/email/deliverer.h"

#include <boost/asio/post.hpp>

#include "core/limits.h"
#include "server/outbox_scanner.h"

namespace stampede::email {

namespace asio = boost::asio;

struct deliverer::state : std::enable_shared_from_this<state> {
  using scanner_type = http::outbox_scanner<email_outbox::key>;
  state(asio::io_context& io, email_outbox& outbox, mailer* sender, delivery_settings settings)
      : io(io), outbox(outbox), sender(sender), settings(std::move(settings)),
        scanner(io, {mail_scan_period_ms, this->settings.retry_base_ms, mail_backoff_max_ms,
                     limits::email_retry_window_ms}) {}
  asio::io_context& io;
  email_outbox& outbox;  // the shard's: used only on io's thread
  mailer* const sender;
  const delivery_settings settings;
  scanner_type scanner;

  // Hands what is due to the mailer, oldest first.
  void scan() {
    if (!outbox.active()) return;  // a replication follower: its primary sends
    auto expired = scanner.scan(outbox.arrivals(), outbox.mails(),
                                [this](const email_outbox::key& key, const email_entry& e, int64_t) {
                                  if (scanner.in_flight() >= mail_in_flight_max || !submit(key, e))
                                    return scanner_type::step::full;
                                  return scanner_type::step::started;
                                });
    for (const auto& key : expired) outbox.done(key);
  }

  bool submit(const email_outbox::key& key, const email_entry& e) {
    mail_job job{e.event_id, e.order_now.email,
                 order_email{e.note.event, e.note.message, e.order_now, settings.currency,
                             settings.support_email, e.created_at_ms}};
    // The outcome comes back on the mailer thread: it is posted to this shard's thread.
    auto done = [self = shared_from_this(), key](mail_outcome outcome) {
      asio::post(self->io, [self, key, outcome = std::move(outcome)] { self->finished(key, outcome); });
    };
    return sender->submit(std::move(job), std::move(done));
  }

  void finished(const email_outbox::key& key, const mail_outcome& outcome) {
    bool leaves = outcome.accepted || outcome.permanent;
    // Recorded like any change; leaves the outbox.
    if (scanner.ended(key, leaves) && leaves && outbox.active()) outbox.done(key);
  }
};

deliverer::deliverer(asio::io_context& io, email_outbox& outbox, mailer* sender,
                     delivery_settings settings)
    : state_(std::make_shared<state>(io, outbox, sender, std::move(settings))) {}

deliverer::~deliverer() = default;

void deliverer::start() {
  if (!state_->sender) return;
  asio::post(state_->io, [st = state_] {
    st->scanner.every_period([st] { st->scan(); });
  });
}

void deliverer::stop() {
  asio::post(state_->io, [st = state_] { st->scanner.stop(); });
}

}  // namespace stampede::email
