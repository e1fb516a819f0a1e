// The simulator's clients: users with carts, checkouts, payments and cancels, one request
// in flight each (as a browser tab); an admin restocking and removing stock; the payment
// gateway's webhook settling payments that required action. Each request goes through the
// engine's API as the server's would; each answer arrives on the client io_context and goes
// to the model. Single-threaded: the simulator's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/sim/model.h"
#include "tests/sim/world.h"

namespace stampede::sim {

struct product_spec {
  std::string id;
  int64_t price = 0;
  int64_t on_hand = 0;
  int64_t max_per_user = 0;
};

// How a seed's clients behave (drawn per seed: swarm testing).
struct workload_knobs {
  int users = 4;
  int requests = 60;          // after the setup
  int weight_cart = 40;       // add, set, remove, clear
  int weight_checkout = 15;
  int weight_pay = 15;
  int weight_cancel = 6;
  int weight_read = 8;        // get cart, get order
  int weight_admin = 6;       // per user request picked
  int weight_settle = 6;
  int hot_percent = 0;        // of cart changes on the first product: a flash sale's one SKU
};

class client {
 public:
  // `trace`, when set, hears of every request sent and every answer.
  client(world& w, model& m, std::mt19937_64& rng, workload_knobs knobs,
         std::function<void(const std::string&)> trace);

  // The catalog and every user's address, before the workload.
  void send_setup(const std::vector<product_spec>& products);
  bool setup_done() const;
  // True when some actor is idle and requests remain.
  bool can_send() const;
  void send_one();
  size_t in_flight() const;
  // One request still in flight, described (for a liveness failure).
  std::string first_in_flight() const;
  uint64_t answered() const { return answered_; }
  int requests_left() const { return requests_left_; }
  void stop() { requests_left_ = 0; }
  // The power went: no answer in flight will come.
  void lose_answers();

 private:
  void send(request r);
  void send_cart(request r);
  void send_order(request r);
  void send_product(request r);
  void send_user(const std::string& user);
  bool pick_order(const model_user& u, bool pending_only, std::string& id);
  void send_admin();
  void send_settle();
  template <class T, class Handler>
  auto answer_to(request r, Handler handler);

  world& world_;
  model& model_;
  std::mt19937_64& rng_;
  const workload_knobs knobs_;
  int requests_left_;
  std::vector<std::string> user_ids_;
  std::vector<std::string> product_ids_;
  std::function<void(const std::string&)> trace_;
  int setup_pending_ = 0;  // products being created
  uint64_t answered_ = 0;
};

}  // namespace stampede::sim
