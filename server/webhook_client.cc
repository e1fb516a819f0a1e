#include "server/webhook_client.h"

#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
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
#include "server/outbox_scanner.h"
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
  using scanner_type = outbox_scanner<webhook_outbox::key>;
  state(asio::io_context& io, webhook_outbox& outbox, const presentation& pres, metrics& m,
        int64_t base, const std::string& ca_file)
      : io(io), outbox(outbox), pres(pres), stats(m), retry_base_ms(base),
        scanner(io, {scan_period_ms, base, webhook_backoff_max_ms, limits::webhook_retry_window_ms}) {
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
  scanner_type scanner;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  absl::flat_hash_map<std::string, receiver_breaker> receivers;  // by webhook id

  // Starts what is due, oldest first, each receiver within its own share.
  void scan() {
    if (!outbox.active()) return;  // a replication follower: its primary delivers
    auto expired = scanner.scan(outbox.arrivals(), outbox.events(),
                                [this](const webhook_outbox::key& key, const outbox_entry& e, int64_t now) {
                                  return try_deliver(key, e, now);
                                });
    for (const auto& key : expired) {
      ++stats.webhook_given_up;
      outbox.done(key);
    }
    forget_what_left();
  }

  scanner_type::step try_deliver(const webhook_outbox::key& key, const outbox_entry& e, int64_t now) {
    if (scanner.in_flight() >= webhook_in_flight_max) return scanner_type::step::full;
    receiver_breaker& r = receivers[e.webhook_id];
    if (!r.may_send(now)) {
      // Full (look again when one of its deliveries ends) or open (when it closes).
      if (r.open_until_ms > now) scanner.due_at(r.open_until_ms);
      return scanner_type::step::passed;
    }
    for (const auto& w : outbox.registrations())
      if (w.id == e.webhook_id) return deliver(key, e, w, r);
    return scanner_type::step::passed;
  }

  // Attempts of events that left the outbox (their webhook was deleted), and receivers no
  // registration names any more, are forgotten.
  void forget_what_left() {
    scanner.forget_left(outbox.events().size(),
                        [&](const webhook_outbox::key& k) { return !outbox.events().contains(k); });
    if (receivers.size() > outbox.registrations().size())
      absl::erase_if(receivers, [&](const auto& kv) {
        if (kv.second.in_flight > 0) return false;
        for (const auto& w : outbox.registrations())
          if (w.id == kv.first) return false;
        return true;
      });
  }

  scanner_type::step deliver(const webhook_outbox::key& key, const outbox_entry& e, const webhook& w,
                             receiver_breaker& r) {
    auto url = parse_http_url(w.url);
    if (!url) return scanner_type::step::passed;
    std::string body = json::serialize(json::object{{"id", e.event_id},
                                                    {"event", e.note.event},
                                                    {"created_at", format_rfc3339_ms(e.created_at_ms)},
                                                    {"data", to_json(e.note, pres)}});
    std::string t = std::to_string(wall_ms() / 1000);
    std::string signature = "t=" + t + ",v1=" + hmac_sha256_hex(w.secret, t + "." + body);
    r.started();
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
    return scanner_type::step::started;
  }

  void finished(const webhook_outbox::key& key, const std::string& webhook_id, unsigned status) {
    const bool ok = status >= 200 && status < 300;
    if (!scanner.ended(key, ok)) return;  // stopped
    int64_t now = wall_ms();
    if (auto r = receivers.find(webhook_id); r != receivers.end()) {
      if (r->second.ended(ok, now, breaker_open_ms(r->second.trips + 1))) ++stats.webhook_breaker_opened;
    }
    scanner.due_at(now);  // its receiver has room again
    if (!ok) {
      ++stats.webhook_failed_attempts;
      return;
    }
    ++stats.webhook_delivered;
    // Recorded like any change; leaves the outbox. (A node deposed meanwhile records
    // nothing: the new primary delivers it again, at least once.)
    if (outbox.active()) outbox.done(key);
  }

  // How long a receiver's breaker stays open the n-th time in a row it opens.
  int64_t breaker_open_ms(int trips) {
    return scanner.backoff(retry_base_ms * webhook_breaker_open_factor, trips);
  }
};

webhook_deliverer::webhook_deliverer(asio::io_context& io, webhook_outbox& outbox,
                                     const presentation& pres, metrics& m,
                                     int64_t retry_base_ms, const std::string& ca_file)
    : state_(std::make_shared<state>(io, outbox, pres, m, retry_base_ms, ca_file)) {}

webhook_deliverer::~webhook_deliverer() = default;

void webhook_deliverer::start() {
  asio::post(state_->io, [st = state_] {
    st->scanner.every_period([st] { st->scan(); });
  });
}

void webhook_deliverer::stop() {
  asio::post(state_->io, [st = state_] { st->scanner.stop(); });
}

}  // namespace stampede::http
