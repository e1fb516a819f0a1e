// The command line of `stampede serve` and `stampede token`: one table of flags, each with
// its STAMPEDE_* environment fallback and default, from which parsing and --help are made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "server/request.h"

namespace stampede {
struct engine_config;
}

namespace stampede::http {

struct config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string jwt_secret = "stampede-dev-secret";
  uint32_t shards = 0;  // 0: one per core
  std::string durability = "fsync";
  int64_t snapshot_interval_s = 300;
  int64_t snapshot_log_mb = 256;
  int64_t segment_mb = 64;
  int64_t hold_ttl_s = 600;
  int64_t payment_ttl_s = 900;
  std::string payment_gateway = "sandbox";
  std::string gateway_secret = "stampede-gateway-dev-secret";
  std::string currency = "USD";
  std::string support_email = "support@example.com";
  bool demo = false;
  int64_t rate_limit_per_s = 20;  // per user; 0: off
  int64_t request_timeout_s = 10;
  int64_t keep_alive_timeout_s = 60;
  int64_t write_wait_target_ms = limits::write_wait_target_ms;
  int64_t write_wait_interval_ms = limits::write_wait_interval_ms;
  int64_t webhook_retry_ms = 1000;
  std::string webhook_ca_file;
  // Replication (API.md, "Replication and failover"); none without --replicate.
  std::vector<std::string> replicate;  // nats://host:port of each NATS server
  std::string node_id;
  std::string advertise;                // this node's URL for clients; default from --listen
  std::string cluster = "stampede";
  std::string node_role = "auto";       // auto (primary or standby) | replica
  int64_t takeover_after_ms = 1500;
  int64_t replicas = 3;                 // of each shard's stream
  // Order email (server/email/): nothing is sent without smtp_url.
  std::string smtp_url;
  std::string smtp_user;
  std::string smtp_password;
  std::string smtp_from;  // "Shop <orders@example.com>"; "": the support address
  std::string email_templates_dir;
  int64_t email_retry_ms = 1000;
  // `stampede token`
  std::string sub;
  std::string role = "customer";
  std::string token_email;
  int64_t ttl_s = 3600;
  bool role_for_token = false;  // --role was customer or admin (token's), not auto or replica
  bool jwt_secret_defaulted = true;
  // The flags on the command line. A variable is not counted: an environment file shared by
  // serve and token, or kept from a cluster, must not stop either.
  std::vector<std::string> given;
};

// Parses argv (after the subcommand) with environment fallbacks. On error returns the
// message; `help` is set when --help was asked.
std::optional<std::string> parse_config(const std::vector<std::string>& args, config& out,
                                        bool& help);
std::string usage();
// A flag on the command line that `command` ("serve" or "token") does not take, or one that
// needs another (--node-id without --replicate): the message, or nothing.
std::optional<std::string> misplaced_flag(std::string_view command, const config& c);

// The engine's settings from the command line's, with `shards` shards: the one place for
// both a single node and a replicated one (the JWT secret keys drops' admission tokens and
// card fingerprints; a replicated node once left it out and signed with the development
// secret).
engine_config engine_config_of(const config& cfg, uint32_t shards);
// The HTTP server's settings from the command line's, alike for a single node and a
// replicated one; the caller adds what only it has (replication, the mailer, the
// descriptor budget).
server_settings server_settings_of(const config& cfg);

}  // namespace stampede::http
