// Authentication: JWT HS256 (RFC 7519) as API.md sets it: `alg` must be HS256 (`none` and
// everything else refused), `exp` required and in the future, `sub` 1..128 characters,
// `role` customer (default) or admin, `email` optional (where order email goes); the signature
// compared in constant time. The HMAC, hex and comparison are core/crypto.h's. One verifier
// per shard thread: it keeps a keyed MAC (core/crypto.h's hmac_key), a cache of verified
// tokens that are sent again, and its scratch buffers (not thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/crypto.h"

namespace stampede::http {

// A longer bearer token is refused (401) without being decoded.
inline constexpr size_t token_bytes_max = 4096;

struct identity {
  std::string user_id;
  bool admin = false;
  int64_t expires_at_s = 0;
  std::string email;  // the `email` claim as signed ("" without one); checked where it is used
};

// The payment webhook's and the gateway's signatures (core/crypto.h).
using stampede::constant_time_equal;
using stampede::hmac_sha256_hex;

// Signs a token for `stampede token` and tests; `email` "" for no email claim.
std::string sign_token(std::string_view secret, std::string_view subject, std::string_view role,
                       int64_t expires_at_s, std::string_view email = "");

class token_verifier {
 public:
  explicit token_verifier(std::string secret);
  ~token_verifier();
  token_verifier(const token_verifier&) = delete;
  token_verifier& operator=(const token_verifier&) = delete;

  // The identity in a valid token at time now_s, or nullopt.
  std::optional<identity> verify(std::string_view token, int64_t now_s);
  // Tokens kept verified (for tests: a token is kept from its second sighting).
  size_t cached() const { return cache_.size(); }

 private:
  // The full check: parts, header, signature, claims.
  std::optional<identity> check(std::string_view token, int64_t now_s);
  // Whether `token` was seen lately (and notes it, if not).
  bool seen_before(std::string_view token);

  static constexpr size_t token_seen_slots = 1 << 16;  // hashes of recent tokens (512 KiB)
  hmac_key key_;  // the JWT secret's MAC, keyed once
  absl::flat_hash_map<std::string, identity> cache_;  // token -> identity, until it expires
  std::vector<uint64_t> seen_ = std::vector<uint64_t>(token_seen_slots);
  std::string known_header_;  // the last header part that was a good one (base64url)
  std::string scratch_;       // a decoded header or claims
  std::string signature_;     // a decoded signature
};

}  // namespace stampede::http
