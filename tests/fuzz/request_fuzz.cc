// libFuzzer target for everything outside bytes reach: the request target, the JSON body
// and the strict field readers, bearer tokens, RFC 3339 times, webhook URLs and event
// patterns, and the WAL's effect decoder (a damaged log must fail to decode, never crash).
// Build: CXX=clang++-14 cmake -S . -B build-fuzz -DSTAMPEDE_FUZZ=ON && cmake --build
// build-fuzz --target request_fuzz; run: build-fuzz/tests/fuzz/request_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/webhook.h"
#include "persistence/wal_format.h"
#include "server/auth.h"
#include "server/json.h"
#include "server/rfc3339.h"
#include "server/routes.h"

using namespace stampede::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t cut = in.find('\n');
  std::string_view first = in.substr(0, cut);
  std::string_view rest = cut == std::string_view::npos ? std::string_view() : in.substr(cut + 1);

  request r;
  parse_target(first, r);

  if (auto v = parse_body(rest); v && v->is_object()) {
    reader rd{v->as_object()};
    (void)rd.str("id");
    (void)rd.integer("quantity", 1, 10'000);
    (void)rd.boolean("active");
    (void)rd.str_list("images", 20, 2048);
    (void)rd.time_or_null("sale_starts_at");
  }

  static token_verifier verifier("fuzz-secret");
  (void)verifier.verify(first, 1'800'000'000);

  if (auto t = parse_rfc3339_ms(first)) {
    // Whatever parses must format and parse back to the same instant (if in range).
    auto again = parse_rfc3339_ms(format_rfc3339_ms(*t));
    if (*t >= 0 && *t < 253'402'300'800'000 && again != t) __builtin_trap();
  }
  // A webhook URL that parses has a host, a port and a target starting with '/'.
  if (auto u = stampede::parse_http_url(first)) {
    if (u->host.empty() || u->port.empty() || u->target.empty() || u->target[0] != '/') __builtin_trap();
  }
  (void)stampede::webhook_wants(stampede::webhook{"", "", "", {std::string(first)}, 0}, rest);
  // Whatever decodes must encode back to the same payload.
  for (uint16_t type = 1; type <= stampede::wal::effect_type_max; ++type) {
    if (auto e = stampede::wal::decode_effect(type, rest)) {
      std::string rec;
      if (!stampede::wal::append_record(rec, 1, *e)) __builtin_trap();
      if (std::string_view(rec).substr(stampede::wal::header_size) != rest) __builtin_trap();
    }
  }
  return 0;
}
