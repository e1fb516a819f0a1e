// The cryptography drops rest on: SHA-256 (the seed's published hash), HMAC-SHA256 (the
// ranking key of a user, admission tokens, card fingerprints), lowercase hex, constant-time
// comparison, and the CSPRNG that draws seeds. OpenSSL underneath. Free functions are
// safe from any thread; an hmac_key is not (one per owner, used on its thread).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stampede {

using sha256_digest = std::array<uint8_t, 32>;

sha256_digest sha256(std::string_view bytes);
sha256_digest hmac_sha256(std::string_view key, std::string_view data);

// Lowercase hex of raw bytes, and back (nullopt unless an even count of hex digits).
std::string to_hex(std::string_view bytes);
inline std::string to_hex(const sha256_digest& d) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}
std::optional<std::string> from_hex(std::string_view hex);

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
