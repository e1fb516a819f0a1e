// Authentication: JWT HS256 (RFC 7519) as API.md sets it: `alg` must be HS256 (`none` and
// everything else refused), `exp` required and in the future, `sub` 1..128 characters,
// `role` customer (default) or admin, `email` optional (where order email goes); the signature
// compared in constant time. The HMAC, hex and comparison are core/crypto.h's. One verifier
// per shard thread: it keeps a keyed MAC (core/crypto.h's hmac_key) and a cache of verified
// tokens (not thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

 private:
  hmac_key key_;  // the JWT secret's MAC, keyed once
  absl::flat_hash_map<std::string, identity> cache_;  // token -> identity, until it expires
};

}  // namespace stampede::http
