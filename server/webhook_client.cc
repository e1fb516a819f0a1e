#include "server/webhook_client.h"

#include <chrono>
#include <random>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "core/limits.h"
#include "server/auth.h"
#include "server/retry.h"
#include "server/rfc3339.h"

namespace stampede::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr int64_t scan_period_ms = 100;

// One POST over plain TCP or TLS: resolve, connect, (handshake,) write, read; `done(status)`
// with 0 for a transport failure (including a certificate that does not verify).
template <class Stream>
class exchange : public std::enable_shared_from_this<exchange<Stream>> {
 public:
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... StreamArgs>
  exchange(asio::io_context& io, http_url url, std::string body, std::string event_id,
           std::string signature, absl::AnyInvocable<void(unsigned)> done, StreamArgs&&... args)
      : resolver_(io),
        stream_(io, std::forward<StreamArgs>(args)...),
        url_(std::move(url)),
        done_(std::move(done)) {
    req_.method(bhttp::verb::post);
    req_.target(url_.target);
    req_.version(11);
    bool default_port = url_.port == (url_.tls ? "443" : "80");
    req_.set(bhttp::field::host, url_.host + (default_port ? "" : ":" + url_.port));
    req_.set(bhttp::field::user_agent, "stampede-webhooks/1");
    req_.set(bhttp::field::content_type, "application/json");
    req_.set("Stampede-Event-Id", event_id);
    req_.set("Stampede-Signature", signature);
    req_.set(bhttp::field::connection, "close");
    req_.body() = std::move(body);
    req_.prepare_payload();
  }

  void run() {
    if constexpr (tls) {
      // The receiver's name (or IP address) must be in its certificate; SNI for names.
      SSL* ssl = stream_.native_handle();
      boost::system::error_code ec;
      auto ip = asio::ip::make_address(url_.host, ec);
      bool named = ec.failed();
      if (named ? SSL_set1_host(ssl, url_.host.c_str()) != 1 ||
                      SSL_set_tlsext_host_name(ssl, url_.host.c_str()) != 1
                : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str()) != 1)
        return finish(0);
    }
    lowest().expires_after(std::chrono::seconds(webhook_timeout_s));
    resolver_.async_resolve(url_.host, url_.port,
                            [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                              if (ec) return self->finish(0);
                              self->lowest().async_connect(r, [self](beast::error_code ec, auto) {
                                if (ec) return self->finish(0);
                                if constexpr (tls) {
                                  self->stream_.async_handshake(asio::ssl::stream_base::client,
                                                                [self](beast::error_code ec) {
                                                                  if (ec) return self->finish(0);
                                                                  self->send();
                                                                });
                                } else {
                                  self->send();
                                }
                              });
                            });
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void send() {
    lowest().expires_after(std::chrono::seconds(webhook_timeout_s));
    bhttp::async_write(stream_, req_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->finish(0);
      self->parser_.body_limit(64 * 1024);  // a receiver's answer is read and thrown away
      bhttp::async_read(self->stream_, self->buffer_, self->parser_,
                        [self](beast::error_code ec, size_t) {
                          self->finish(ec ? 0 : self->parser_.get().result_int());
                        });
    });
  }

  void finish(unsigned status) {
    // The answer is in hand: close without waiting for a TLS close_notify exchange.
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    if (done_) std::exchange(done_, nullptr)(status);
  }

  tcp::resolver resolver_;
  Stream stream_;
  http_url url_;
  bhttp::request<bhttp::string_body> req_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  absl::AnyInvocable<void(unsigned)> done_;
};

}  // namespace

struct webhook_deliverer::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, webhook_outbox& outbox, const presentation& pres, metrics& m,
        int64_t base, const std::string& ca_file)
      : io(io), outbox(outbox), pres(pres), stats(m), retry_base_ms(base), timer(io),
        rng(std::random_device{}()) {
    // https receivers: the system's trusted CAs, and --webhook-ca-file's too.
    boost::system::error_code ec;
    tls.set_default_verify_paths(ec);
    if (!ca_file.empty()) tls.load_verify_file(ca_file, ec);
    tls.set_verify_mode(asio::ssl::verify_peer);
  }
  asio::io_context& io;
  webhook_outbox& outbox;  // the shard's: used only on io's thread
  const presentation& pres;
  metrics& stats;
  const int64_t retry_base_ms;
  asio::steady_timer timer;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::mt19937_64 rng;
  bool stopped = false;
  struct attempt {
    int failures = 0;
    int64_t next_at_ms = 0;
    bool in_flight = false;
  };
  absl::flat_hash_map<webhook_outbox::key, attempt> attempts;
  absl::flat_hash_map<std::string, receiver_breaker> receivers;  // by webhook id
  size_t in_flight = 0;
  uint64_t seen_arrivals = ~uint64_t{0};
  int64_t next_due_ms = 0;

  void arm() {
    timer.expires_after(std::chrono::milliseconds(scan_period_ms));
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopped) return;
      self->scan();
      self->arm();
    });
  }

  // Starts what is due, oldest first, each receiver within its own share. The outbox is
  // scanned only when something new arrived or a retry is due, not every tick while a
  // receiver is down.
  void scan() {
    if (!outbox.active()) return;  // a replication follower: its primary delivers
    int64_t now = wall_ms();
    if (outbox.arrivals() == seen_arrivals && now < next_due_ms) return;
    seen_arrivals = outbox.arrivals();
    next_due_ms = INT64_MAX;
    std::vector<webhook_outbox::key> give_up;
    for (const auto& [key, entry] : outbox.events()) {
      if (in_flight >= webhook_in_flight_max) {
        next_due_ms = now;  // more may be due: look again next tick
        break;
      }
      attempt& a = attempts[key];
      if (a.in_flight) continue;
      if (now - entry.created_at_ms > limits::webhook_retry_window_ms) {
        give_up.push_back(key);
        continue;
      }
      if (a.next_at_ms > now) {
        next_due_ms = std::min(next_due_ms, a.next_at_ms);
        continue;
      }
      receiver_breaker& r = receivers[entry.webhook_id];
      if (!r.may_send(now)) {
        // Full (look again when one of its deliveries ends) or open (when it closes).
        if (r.open_until_ms > now) next_due_ms = std::min(next_due_ms, r.open_until_ms);
        continue;
      }
      const webhook* w = nullptr;
      for (const auto& candidate : outbox.registrations())
        if (candidate.id == entry.webhook_id) w = &candidate;
      if (!w) continue;
      deliver(key, entry, *w, a, r);
    }
    for (const auto& key : give_up) {
      attempts.erase(key);
      ++stats.webhook_given_up;
      outbox.done(key);
    }
    forget_what_left();
  }

  // Attempts of events that left the outbox (their webhook was deleted), and receivers no
  // registration names any more, are forgotten.
  void forget_what_left() {
    if (attempts.size() > outbox.events().size())
      absl::erase_if(attempts, [&](const auto& kv) {
        return !kv.second.in_flight && !outbox.events().contains(kv.first);
      });
    if (receivers.size() > outbox.registrations().size())
      absl::erase_if(receivers, [&](const auto& kv) {
        if (kv.second.in_flight > 0) return false;
        for (const auto& w : outbox.registrations())
          if (w.id == kv.first) return false;
        return true;
      });
  }

  void deliver(const webhook_outbox::key& key, const outbox_entry& e, const webhook& w, attempt& a,
               receiver_breaker& r) {
    auto url = parse_http_url(w.url);
    if (!url) return;
    std::string body = json::serialize(json::object{{"id", e.event_id},
                                                    {"event", e.note.event},
                                                    {"created_at", format_rfc3339_ms(e.created_at_ms)},
                                                    {"data", to_json(e.note, pres)}});
    std::string t = std::to_string(wall_ms() / 1000);
    std::string signature = "t=" + t + ",v1=" + hmac_sha256_hex(w.secret, t + "." + body);
    a.in_flight = true;
    r.started();
    ++in_flight;
    auto done = [self = shared_from_this(), key, id = w.id](unsigned status) {
      self->finished(key, id, status);
    };
    if (url->tls) {
      std::make_shared<exchange<beast::ssl_stream<beast::tcp_stream>>>(
          io, std::move(*url), std::move(body), e.event_id, std::move(signature),
          std::move(done), tls)
          ->run();
    } else {
      std::make_shared<exchange<beast::tcp_stream>>(io, std::move(*url), std::move(body),
                                                    e.event_id, std::move(signature), std::move(done))
          ->run();
    }
  }

  void finished(const webhook_outbox::key& key, const std::string& webhook_id, unsigned status) {
    --in_flight;
    if (stopped) return;
    const bool ok = status >= 200 && status < 300;
    int64_t now = wall_ms();
    if (auto r = receivers.find(webhook_id); r != receivers.end()) {
      if (r->second.ended(ok, now, breaker_open_ms(r->second.trips + 1))) ++stats.webhook_breaker_opened;
    }
    next_due_ms = std::min(next_due_ms, now);  // its receiver has room again
    auto it = attempts.find(key);
    if (ok) {
      if (it != attempts.end()) attempts.erase(it);
      ++stats.webhook_delivered;
      // Recorded like any change; leaves the outbox. (A node deposed meanwhile records
      // nothing: the new primary delivers it again, at least once.)
      if (outbox.active()) outbox.done(key);
      return;
    }
    ++stats.webhook_failed_attempts;
    if (it == attempts.end()) return;
    attempt& a = it->second;
    a.in_flight = false;
    ++a.failures;
    a.next_at_ms = now + backoff_ms(retry_base_ms, a.failures, webhook_backoff_max_ms, rng);
    next_due_ms = std::min(next_due_ms, a.next_at_ms);
  }

  // How long a receiver's breaker stays open the n-th time in a row it opens.
  int64_t breaker_open_ms(int trips) {
    return backoff_ms(retry_base_ms * webhook_breaker_open_factor, trips, webhook_backoff_max_ms, rng);
  }
};

webhook_deliverer::webhook_deliverer(asio::io_context& io, webhook_outbox& outbox,
                                     const presentation& pres, metrics& m,
                                     int64_t retry_base_ms, const std::string& ca_file)
    : state_(std::make_shared<state>(io, outbox, pres, m, retry_base_ms, ca_file)) {}

webhook_deliverer::~webhook_deliverer() = default;

void webhook_deliverer::start() {
  asio::post(state_->io, [st = state_] { st->arm(); });
}

void webhook_deliverer::stop() {
  asio::post(state_->io, [st = state_] {
    st->stopped = true;
    st->timer.cancel();
  });
}

}  // namespace stampede::http
