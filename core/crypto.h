// The project's cryptography, on OpenSSL: SHA-256, HMAC-SHA256 (JWTs and webhook signatures
// in server/auth, and for drops the ranking key of a user, admission tokens and card
// fingerprints), hex, constant-time comparison, and the CSPRNG that draws seeds. Free
// functions are safe from any thread; an hmac_key is not (one per owner, used on its thread).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stampede {

using sha256_digest = std::array<uint8_t, 32>;
// A digest's raw bytes.
inline std::string_view digest_bytes(const sha256_digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

sha256_digest sha256(std::string_view bytes);
sha256_digest hmac_sha256(std::string_view key, std::string_view data);

// Lowercase hex of raw bytes, and back (nullopt unless an even count of hex digits).
std::string to_hex(std::string_view bytes);
inline std::string to_hex(const sha256_digest& d) { return to_hex(digest_bytes(d)); }
std::optional<std::string> from_hex(std::string_view hex);
// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);
// HMAC-SHA256 of `data` with `key`, as 64 lowercase hex digits.
inline std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return to_hex(hmac_sha256(key, data));
}

bool constant_time_equal(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's CSPRNG; nullopt if it could not be seeded (then nothing that
// needs a secret may be made).
std::optional<std::string> random_bytes(size_t n);

// HMAC-SHA256 with one key, many messages: the key's pads are computed once, so a digest
// costs two SHA-256 compressions of the message rather than four more for the key.
class hmac_key {
 public:
  explicit hmac_key(std::string key);
  ~hmac_key();
  hmac_key(hmac_key&&) noexcept;
  hmac_key& operator=(hmac_key&&) noexcept;
  hmac_key(const hmac_key&) = delete;
  hmac_key& operator=(const hmac_key&) = delete;

  sha256_digest sign(std::string_view data) const;

  const std::string& key() const { return key_; }

 private:
  std::string key_;
  struct context;
  std::unique_ptr<context> ctx_;
};

}  // namespace stampede
