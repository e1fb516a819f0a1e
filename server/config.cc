#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <iterator>

#include "persistence/stream_frame.h"
#include "server/email/mailer.h"
#include "server/email/message.h"
#include "server/email/templates.h"
#include "core/engine.h"
#include "core/limits.h"

namespace stampede::http {

namespace {

struct flag {
  const char* name;  // "--listen"
  const char* env;   // "STAMPEDE_LISTEN"; nullptr for none
  const char* help;
  bool takes_value;
  std::function<std::optional<std::string>(config&, const std::string&)> set;
};

// ISO 4217's codes in use (list one, 2025), and ANG, HRK and SLL, withdrawn lately but still
// in some stores' books. Codes are three capital letters, so none matches across a space.
constexpr std::string_view iso4217_codes =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD "
    "BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP "
    "DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS "
    "INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR "
    "PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS "
    "SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW "
    "UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS "
    "XUA XXX YER ZAR ZMW ZWG ZWL ";

std::optional<std::string> to_int(const std::string& v, int64_t min, int64_t max, int64_t& out) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < min || n > max)
    return "must be an integer " + std::to_string(min) + ".." + std::to_string(max);
  out = n;
  return std::nullopt;
}

// Where and how the server serves and keeps its data.
std::vector<flag> serving_flags() {
  return {
    {"--listen", "STAMPEDE_LISTEN", "host:port to serve HTTP on (default 127.0.0.1:8080)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v.rfind(':') == std::string::npos) return "must be host:port";
       c.listen = v;
       return std::nullopt;
     }},
    {"--data-dir", "STAMPEDE_DATA_DIR", "where the store keeps its data (default ./data)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.data_dir = v;
       return std::nullopt;
     }},
    {"--jwt-secret", "STAMPEDE_JWT_SECRET",
     "HS256 secret for bearer tokens (default: a development secret, with a warning)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v.empty()) return "must not be empty";
       c.jwt_secret = v;
       c.jwt_secret_defaulted = false;
       return std::nullopt;
     }},
    {"--shards", "STAMPEDE_SHARDS", "shard threads (default: one per core)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       int64_t n;
       if (auto e = to_int(v, 1, static_cast<int64_t>(limits::shards_max), n)) return e;
       c.shards = static_cast<uint32_t>(n);
       return std::nullopt;
     }},
    {"--durability", "STAMPEDE_DURABILITY",
     "fsync (answer after the WAL is synced) or async (default fsync)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v != "fsync" && v != "async") return "must be fsync or async";
       c.durability = v;
       return std::nullopt;
     }},
    {"--snapshot-interval", "STAMPEDE_SNAPSHOT_INTERVAL",
     "seconds between snapshots of what changed; 0: only by log size (default 300)", true,
     [](config& c, const std::string& v) { return to_int(v, 0, 7 * 86400, c.snapshot_interval_s); }},
    {"--snapshot-log-mb", "STAMPEDE_SNAPSHOT_LOG_MB",
     "also snapshot when the write-ahead logs grew this many MB since the last (default 256)",
     true,
     [](config& c, const std::string& v) { return to_int(v, 1, 1'000'000, c.snapshot_log_mb); }},
    {"--segment-mb", "STAMPEDE_SEGMENT_MB",
     "size at which a write-ahead log segment is closed and the next begun (default 64)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 65'536, c.segment_mb); }},
  };
}

// The store's timers, payments and identity.
std::vector<flag> store_flags() {
  return {
    {"--hold-ttl", "STAMPEDE_HOLD_TTL", "seconds a cart holds its units (default 600)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 7 * 86400, c.hold_ttl_s); }},
    {"--payment-ttl", "STAMPEDE_PAYMENT_TTL",
     "seconds a pending order waits for payment (default 900)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 7 * 86400, c.payment_ttl_s); }},
    {"--payment-gateway", "STAMPEDE_PAYMENT_GATEWAY", "payment gateway (default sandbox)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v != "sandbox") return "only the sandbox gateway is built in";
       c.payment_gateway = v;
       return std::nullopt;
     }},
    {"--gateway-secret", "STAMPEDE_GATEWAY_SECRET",
     "HMAC secret of the payment webhook's Stampede-Signature (default: a development secret)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v.empty()) return "must not be empty";
       c.gateway_secret = v;
       return std::nullopt;
     }},
    {"--currency", "STAMPEDE_CURRENCY", "the store currency: an ISO 4217 code in use (default USD)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v.size() != 3) return "must be a three-letter code";
       for (char ch : v)
         if (ch < 'A' || ch > 'Z') return "must be three capital letters";
       if (iso4217_codes.find(v) == std::string_view::npos) return "is not an ISO 4217 currency code in use";
       c.currency = v;
       return std::nullopt;
     }},
    {"--support-email", "STAMPEDE_SUPPORT_EMAIL", "contact shown in notifications (default support@example.com)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v.empty() || v.size() > 254) return "must be 1..254 characters";
       c.support_email = v;
       return std::nullopt;
     }},
  };
}

// Limits on clients, and webhook delivery.
std::vector<flag> admission_flags() {
  return {
    {"--rate-limit", "STAMPEDE_RATE_LIMIT",
     "requests a second per user, with a burst of 40; 0 turns it off (default 20)", true,
     [](config& c, const std::string& v) { return to_int(v, 0, 1'000'000, c.rate_limit_per_s); }},
    {"--write-wait-target-ms", "STAMPEDE_WRITE_WAIT_TARGET_MS",
     "admission control: the wait a write may have in a queue that has not emptied for a "
     "whole interval; longer and new writes get 503 overloaded (default 50)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 10'000, c.write_wait_target_ms); }},
    {"--write-wait-interval-ms", "STAMPEDE_WRITE_WAIT_INTERVAL_MS",
     "admission control: the wait a write may have in a queue that empties at least this "
     "often, and the longest any write waits before it is refused unrun (default 100)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 60'000, c.write_wait_interval_ms); }},
    {"--request-timeout", "STAMPEDE_REQUEST_TIMEOUT",
     "seconds a client has to send a whole request before it is closed (default 10)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 3600, c.request_timeout_s); }},
    {"--keep-alive-timeout", "STAMPEDE_KEEP_ALIVE_TIMEOUT",
     "seconds a keep-alive connection may wait idle for its next request before it is "
     "closed (default 60)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 3600, c.keep_alive_timeout_s); }},
    {"--webhook-retry-ms", "STAMPEDE_WEBHOOK_RETRY_MS",
     "first delay before a failed webhook delivery is retried; doubles each time, jittered, "
     "up to an hour (default 1000)", true,
     [](config& c, const std::string& v) { return to_int(v, 10, 3'600'000, c.webhook_retry_ms); }},
    {"--webhook-ca-file", "STAMPEDE_WEBHOOK_CA_FILE",
     "PEM file of CAs trusted for https webhook receivers, besides the system's (default none)",
     true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (::access(v.c_str(), R_OK) != 0) return "must be a readable file";
       c.webhook_ca_file = v;
       return std::nullopt;
     }},
  };
}

// Replication (--replicate and the cluster it joins).
std::vector<flag> cluster_flags() {
  return {
    {"--replicate", "STAMPEDE_REPLICATE",
     "share each shard's log through these NATS JetStream servers (nats://h:p,...): "
     "primary, standby or replica (default: no replication)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.replicate.clear();
       for (size_t at = 0; at <= v.size();) {
         size_t comma = std::min(v.find(',', at), v.size());
         std::string url = v.substr(at, comma - at);
         if (url.rfind("nats://", 0) != 0 || url.size() <= 7) return "must be nats://host:port,...";
         c.replicate.push_back(url);
         at = comma + 1;
       }
       return std::nullopt;
     }},
    {"--node-id", "STAMPEDE_NODE_ID", "this node's name in the cluster ([A-Za-z0-9_-], 1..64; required with --replicate)",
     true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (!repl::valid_node_id(v)) return "must be 1..64 of A-Z a-z 0-9 _ -";
       c.node_id = v;
       return std::nullopt;
     }},
    {"--advertise", "STAMPEDE_ADVERTISE",
     "the URL clients reach this node at, told to them by the others (default http://--listen)",
     true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if ((v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) || v.size() > 2048)
         return "must be an http:// or https:// URL";
       c.advertise = v;
       return std::nullopt;
     }},
    {"--cluster", "STAMPEDE_CLUSTER",
     "the name the nodes' streams share ([A-Za-z0-9_-], 1..32; default stampede)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (!repl::valid_cluster_name(v)) return "must be 1..32 of A-Z a-z 0-9 _ -";
       c.cluster = v;
       return std::nullopt;
     }},
    {"--takeover-after-ms", "STAMPEDE_TAKEOVER_AFTER_MS",
     "a standby takes over once the primary has been silent this long (default 1500)", true,
     [](config& c, const std::string& v) { return to_int(v, 300, 60'000, c.takeover_after_ms); }},
    {"--replicas", "STAMPEDE_REPLICAS",
     "copies JetStream keeps of each shard's stream (1..5, default 3)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 5, c.replicas); }},
  };
}

// Order email.
std::vector<flag> email_flags() {
  return {
    {"--smtp-url", "STAMPEDE_SMTP_URL",
     "smtp://host:port or smtps://host:port to send order email through (default: no email)",
     true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (auto ok = email::check_smtp_url(v); !ok.ok()) return ok.err().message;
       c.smtp_url = v;
       return std::nullopt;
     }},
    {"--smtp-user", "STAMPEDE_SMTP_USER",
     "SMTP user name; with smtp:// the connection must then upgrade with STARTTLS (default: none, no login)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.smtp_user = v;
       return std::nullopt;
     }},
    {"--smtp-password", "STAMPEDE_SMTP_PASSWORD",
     "SMTP password (prefer the variable: a flag shows in the process list; default none)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.smtp_password = v;
       return std::nullopt;
     }},
    {"--smtp-from", "STAMPEDE_SMTP_FROM",
     "sender of order email, \"Shop <orders@example.com>\" (default: the support address)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (auto m = email::parse_mailbox(v); !m.ok()) return m.err().message;
       c.smtp_from = v;
       return std::nullopt;
     }},
    {"--email-templates", "STAMPEDE_EMAIL_TEMPLATES",
     "directory of Mustache templates replacing the built-in ones: [<event>.]{subject,text,html}"
     ".mustache (default: built-in)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (auto t = email::email_templates::load(v); !t.ok()) return t.err().message;
       c.email_templates_dir = v;
       return std::nullopt;
     }},
    {"--email-retry-ms", "STAMPEDE_EMAIL_RETRY_MS",
     "first delay before a failed email is retried; doubles each time, jittered, up to an hour, "
     "for 48 hours (default 1000)", true,
     [](config& c, const std::string& v) { return to_int(v, 10, 3'600'000, c.email_retry_ms); }},
  };
}

// `stampede token` (and --demo, --role, which serve shares).
std::vector<flag> token_flags() {
  return {
    {"--demo", "STAMPEDE_DEMO", "load a demo catalog into an empty store (1 or true; 0 or false)",
     false,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v == "1" || v == "true") {
         c.demo = true;
       } else if (v == "0" || v == "false") {
         c.demo = false;
       } else {
         return "must be 1, true, 0 or false";
       }
       return std::nullopt;
     }},
    {"--sub", nullptr, "token: the user id (sub claim)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v.empty() || v.size() > 128) return "must be 1..128 characters";
       c.sub = v;
       return std::nullopt;
     }},
    {"--role", "STAMPEDE_ROLE",
     "serve with --replicate: auto (primary or standby, default) or replica (never takes "
     "over, serves reads); token: customer (default) or admin", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (v == "auto" || v == "replica") {
         c.node_role = v;
         c.role_for_token = false;
       } else if (v == "customer" || v == "admin") {
         c.role = v;
         c.role_for_token = true;
       } else {
         return "must be auto or replica (serve), customer or admin (token)";
       }
       return std::nullopt;
     }},
    {"--email", nullptr, "token: the email claim, where order email goes (default none)", true,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       if (!email::valid_address(v)) return "must be a valid email address";
       c.token_email = v;
       return std::nullopt;
     }},
    {"--ttl", nullptr, "token: seconds until it expires (default 3600)", true,
     [](config& c, const std::string& v) { return to_int(v, 1, 366LL * 86400, c.ttl_s); }},
  };
}

// Every flag, in the order --help lists them.
const std::vector<flag>& flags() {
  static const std::vector<flag> table = [] {
    std::vector<flag> all;
    for (auto group : {serving_flags, store_flags, admission_flags, cluster_flags, email_flags,
                       token_flags}) {
      auto part = group();
      all.insert(all.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
    }
    return all;
  }();
  return table;
}

}  // namespace

std::optional<std::string> parse_config(const std::vector<std::string>& args, config& out,
                                        bool& help) {
  help = false;
  for (const auto& f : flags()) {
    if (!f.env) continue;
    if (const char* v = std::getenv(f.env); v && *v) {
      if (auto e = f.set(out, v)) return std::string(f.env) + " " + *e;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return std::nullopt;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const flag* f = nullptr;
    for (const auto& candidate : flags())
      if (arg == candidate.name) f = &candidate;
    if (!f) return "unknown flag " + arg + " (see --help)";
    if (f->takes_value && !inline_value) {
      if (i + 1 >= args.size()) return arg + " needs a value";
      value = args[++i];
    } else if (!f->takes_value && !inline_value) {
      value = "1";
    }
    if (auto e = f->set(out, value)) return arg + " " + *e;
    out.given.emplace_back(f->name);
  }
  return std::nullopt;
}

std::optional<std::string> misplaced_flag(std::string_view command, const config& c) {
  auto given = [&c](std::string_view name) {
    return std::find(c.given.begin(), c.given.end(), name) != c.given.end();
  };
  if (command == "token") {
    if (given("--role") && !c.role_for_token) return "token takes --role customer or admin";
    return std::nullopt;
  }
  for (const char* name : {"--sub", "--email", "--ttl"})
    if (given(name)) return std::string(name) + " is a flag of `stampede token`, not of serve";
  if (given("--role") && c.role_for_token)
    return "--role " + c.role + " is for `stampede token`; serve takes auto or replica";
  if (c.replicate.empty()) {
    for (const char* name : {"--node-id", "--advertise", "--cluster", "--takeover-after-ms", "--replicas"})
      if (given(name)) return std::string(name) + " needs --replicate: it sets this node's part in a cluster";
    if (given("--role") && c.node_role == "replica")
      return "--role replica needs --replicate: it sets this node's part in a cluster";
  }
  return std::nullopt;
}

std::string usage() {
  std::string u =
      "usage: stampede serve [flags]       serve the HTTP API\n"
      "       stampede token --sub USER [--role admin] [--email ADDR] [--ttl 3600]\n"
      "                                     print a bearer token signed with --jwt-secret\n"
      "       stampede rehearse [flags]    a whole sale against a server, with a report (rehearse --help)\n"
      "       stampede demo                 a flash sale against the engine, in-process\n\n"
      "serve's flags (each also read from its environment variable):\n";
  size_t width = 0;  // the longest "  --flag V", and a space
  for (const auto& f : flags())
    width = std::max(width, 2 + std::strlen(f.name) + (f.takes_value ? 2 : 0) + 1);
  auto line = [&u, width](const flag& f) {
    std::string left = std::string("  ") + f.name + (f.takes_value ? " V" : "");
    left.resize(width, ' ');
    u += left + f.help;
    if (f.env) u += std::string(" [") + f.env + "]";
    u += "\n";
  };
  for (const auto& f : flags())
    if (f.env) line(f);
  u += "\ntoken's flags (and --jwt-secret, --role):\n";
  for (const auto& f : flags())
    if (!f.env) line(f);
  return u;
}

engine_config engine_config_of(const config& cfg, uint32_t shards) {
  engine_config ec;
  ec.shards = shards;
  ec.hold_ttl_s = cfg.hold_ttl_s;
  ec.payment_ttl_s = cfg.payment_ttl_s;
  ec.user_requests_per_s = cfg.rate_limit_per_s;
  ec.answer_before_durable = cfg.durability == "async";
  ec.secret = cfg.jwt_secret;
  // Orders with an address are queued as email. Under --replicate every node queues them in
  // the replicated outbox and only the primary's deliverers send (a follower's outbox is
  // inactive), so a new primary sends what is left.
  ec.email = !cfg.smtp_url.empty();
  ec.writes.target_ns = cfg.write_wait_target_ms * 1'000'000;
  ec.writes.interval_ns = std::max(cfg.write_wait_interval_ms, cfg.write_wait_target_ms) * 1'000'000;
  return ec;
}

server_settings server_settings_of(const config& cfg) {
  server_settings s;
  s.pres = {cfg.currency, cfg.support_email};
  s.jwt_secret = cfg.jwt_secret;
  s.gateway_secret = cfg.gateway_secret;
  s.request_timeout_s = cfg.request_timeout_s;
  s.keep_alive_timeout_s = cfg.keep_alive_timeout_s;
  s.webhook_retry_ms = cfg.webhook_retry_ms;
  s.webhook_ca_file = cfg.webhook_ca_file;
  s.email_retry_ms = cfg.email_retry_ms;
  return s;
}

}  // namespace stampede::http
