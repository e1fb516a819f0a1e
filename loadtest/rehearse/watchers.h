// The rehearsal's watchers: --watchers WebSocket connections following product:{id}. A
// watcher's view is the snapshot its subscription answers with, then every availability
// pushed on that connection. A connection that drops (the server restarted, a failover) is
// opened again after a backoff and resubscribes; the view then starts again from the new
// snapshot, since what the watcher saw before is not what it could see now. At the end each
// view is compared with the server's availability, and a watcher that is not back is counted
// as lost, not compared. Single-threaded: calls and callbacks on the run's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "loadtest/rehearse/setup.h"

namespace stampede::load {

struct watcher_report {
  uint64_t watchers = 0;
  uint64_t connected = 0;      // following the product at the check (a view on a live connection)
  uint64_t reconnections = 0;  // subscriptions again after a connection dropped
  uint64_t lost = 0;           // not following at the check: followed once, dropped, and not back
  uint64_t never = 0;          // never received the product's availability
  uint64_t messages = 0;
  bool checked = false;                     // the server's availability could be read
  int64_t server_available = 0;             // at the check
  std::map<int64_t, uint64_t> last_values;  // last availability seen -> connected watchers
  uint64_t disagreeing = 0;                 // connected watchers whose last value differs
};

class watcher_set {
 public:
  // The wait before opening a dropped connection again: doubling from the first to the most,
  // each drawn from half to all of it (so a crowd of watchers does not return at once).
  static constexpr std::chrono::milliseconds reconnect_first{100}, reconnect_most{2000};

  // Every product.availability message any watcher receives, for the run's statistics.
  using availability_handler = absl::AnyInvocable<void(const boost::json::object& message)>;

  watcher_set(asio::io_context& io, const sale_setup& s, size_t count, uint64_t seed,
              availability_handler on_availability);
  ~watcher_set();
  watcher_set(const watcher_set&) = delete;
  watcher_set& operator=(const watcher_set&) = delete;

  void open();                 // every watcher connects and subscribes
  void close();                // for good: no reconnection after this
  uint64_t following() const;  // watchers with a view on a live connection
  bool reconnecting() const;   // some watcher is not following now
  // The views against the server's availability (nullopt: it could not be read).
  watcher_report compare(std::optional<int64_t> server_available) const;

 private:
  struct watcher;
  void connect(watcher& w);
  void on_message(watcher& w, std::string_view text);
  void on_closed(watcher& w);

  asio::io_context& io_;
  const sale_setup& setup_;
  const std::string subscribe_;
  std::vector<std::unique_ptr<watcher>> watchers_;
  availability_handler on_availability_;
  std::minstd_rand rng_;
  uint64_t reconnections_ = 0, messages_ = 0;
  bool closed_ = false;
};

}  // namespace stampede::load
