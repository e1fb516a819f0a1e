// `stampede serve --replicate ...`: a node of a replicated store (API.md, "Replication and
// failover"). It keeps one replication_node for the life of the process and builds an
// engine from its snapshot, which follows the shards' streams as a standby (or replica)
// and may take over; when the node is deposed, the engine is torn down and a fresh one
// built from what the streams confirm, on the same address (the startup responder answers
// meanwhile). Called by main() on the main thread, with SIGINT and SIGTERM blocked.
#pragma once

#include <csignal>
#include <string>

#include "server/config.h"

namespace stampede::http {

int serve_replicated(const config& cfg, const std::string& host, unsigned short port,
                     const sigset_t& signals);

}  // namespace stampede::http
