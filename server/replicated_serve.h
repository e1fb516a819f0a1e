// `stampede serve --replicate ...`: a node of a replicated store (API.md, "Replication and
// failover"). It keeps one replication_node for the life of the process and builds an
// engine from its snapshot, which follows the shards' streams as a standby (or replica)
// and may take over; when the node is deposed, the engine is torn down and a fresh one
// built from what the streams confirm, on the same address (the startup responder answers
// meanwhile). Called by main() on the main thread, with SIGINT and SIGTERM blocked.
// Email and the descriptor budget as for a single node: only a primary's deliverers send
// (a follower's outbox is inactive), and each engine's server counts its connections.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/config.h"

namespace stampede::email {
class mailer;
}

namespace stampede::http {

// What main() made for the process and every engine's server shares.
struct node_resources {
  email::mailer* mailer = nullptr;    // --smtp-url's, outliving the node; null: email off
  size_t connections_max = SIZE_MAX;  // the descriptor budget (descriptor_budget.h)
};

int serve_replicated(const config& cfg, const std::string& host, unsigned short port,
                     const sigset_t& signals, node_resources resources);

}  // namespace stampede::http
