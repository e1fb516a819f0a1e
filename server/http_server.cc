#include "server/http_server.h"

#include <cstdio>
#include <future>
#include <thread>

#include "server/http_session.h"
#include "server/listener.h"
#include "server/shard_context.h"
#include "server/stats_publisher.h"
#include "server/ws_frame.h"

namespace stampede::http {

http_server::http_server(engine& eng, server_settings settings)
    : settings_(std::move(settings)),
      metrics_(std::make_unique<metrics>(api::route_names())),
      descriptors_(std::make_shared<descriptor_budget>(settings_.connections_max)) {
  for (uint32_t i = 0; i < eng.shard_count(); ++i) {
    shards_.push_back(std::make_unique<shard_context>(eng, settings_, *metrics_, i, descriptors_));
    listeners_.push_back(std::make_unique<listener>(*shards_.back()));
  }
  // Each shard's hub becomes its live sink, set on the shard's own thread.
  for (uint32_t i = 0; i < eng.shard_count(); ++i) eng.set_live_sink(i, &shards_[i]->hub);
  // admin:stats: made once a second on shard 0, handed to every shard's hub on its thread.
  stats_ = std::make_unique<stats_publisher>(
      eng, *metrics_, shards_[0]->io, [this](std::shared_ptr<const std::string> text) {
        // One frame for every connection; a newer one replaces an unsent older one ("s").
        auto frame = std::make_shared<const ws::frame>(
            ws::frame{ws::encode(ws::opcode::text, *text), "s"});
        for (auto& ctx : shards_)
          asio::post(ctx->io, [hub = &ctx->hub, frame] { hub->publish(stats_topic_key, frame); });
      });
}

http_server::~http_server() = default;

std::string http_server::start(const std::string& host, unsigned short port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return "bad listen address " + host + ": " + ec.message();
  // Every later acceptor binds the port the first one got (port 0 picks one).
  tcp::endpoint endpoint(address, port);
  for (auto& l : listeners_)
    if (auto err = l->open(endpoint); !err.empty()) return err;
  port_ = endpoint.port();
  for (size_t i = 0; i < shards_.size(); ++i) {
    listeners_[i]->start();
    shards_[i]->webhooks.start();
    shards_[i]->mail.start();
  }
  stats_->start();
  return "";
}

void http_server::stop_accepting() {
  stats_->stop();
  for (size_t i = 0; i < shards_.size(); ++i) {
    std::promise<void> done;
    asio::post(shards_[i]->io, [ctx = shards_[i].get(), l = listeners_[i].get(), &done] {
      l->stop();
      for (http_session* s : ctx->sessions.all()) s->drain();
      ctx->hub.close_all();
      ctx->webhooks.stop();
      ctx->mail.stop();
      done.set_value();
    });
    done.get_future().wait();
  }
}

void http_server::finish_drain(std::chrono::milliseconds limit) {
  wait_for_connections(std::chrono::steady_clock::now() + limit);
  if (size_t open = open_connections(); open > 0)
    std::fprintf(stderr, "stampede: drain limit (%lld ms) reached: closing %zu connections\n",
                 static_cast<long long>(limit.count()), open);
  close_remaining();
  // The sessions just closed end as soon as their shards run the cancelled operations.
  wait_for_connections(std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_settle_ms));
}

void http_server::wait_for_connections(std::chrono::steady_clock::time_point until) const {
  while (open_connections() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(drain_poll_ms));
}

void http_server::close_remaining() {
  for (auto& shard : shards_) {
    std::promise<void> done;
    asio::post(shard->io, [ctx = shard.get(), &done] {
      for (http_session* s : ctx->sessions.all()) s->close_now();
      ctx->hub.end_all();
      done.set_value();
    });
    done.get_future().wait();
  }
}

size_t http_server::open_connections() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->connections.load();
  return n + static_cast<size_t>(std::max<int64_t>(0, metrics_->ws_connections.load()));
}

}  // namespace stampede::http
