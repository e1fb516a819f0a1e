// Identifiers: validation of client-chosen ids, the stable hash that places keys on
// shards, and the server-made ids (`ord_`, `adr_`, ...) that name their owner's hash so
// any shard count can route them. Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace stampede {

// Debian's abseil has its own string_view; heterogeneous lookups in absl containers take it.
inline absl::string_view as_key(std::string_view s) { return {s.data(), s.size()}; }

// A 64-bit hash that is the same in every process and build (FNV-1a with a final mix);
// unlike absl::Hash it may place keys on shards and be written into ids.
uint64_t stable_hash(std::string_view key);

// A stable 64-bit hash of a long byte string (a response body for its ETag), read eight
// bytes at a time; not for keys an attacker chooses to collide.
uint64_t content_hash(std::string_view bytes);

// The 32 bits of a user's hash that server-made ids carry.
inline uint32_t user_tag(std::string_view user_id) {
  return static_cast<uint32_t>(stable_hash(user_id) >> 32);
}

// `[A-Za-z0-9._-]{1,64}` (API.md).
bool is_valid_product_id(std::string_view id);
// 1..128 bytes, no control characters.
bool is_valid_user_id(std::string_view id);

// The per-shard sequence of a server-made id: 12 hex digits.
inline constexpr unsigned owned_id_sequence_bits = 48;

// "ord_" + 8 hex digits of the owner's tag + 12 hex digits of a per-shard sequence.
// The same shape for every prefix ("adr_", "ntf_", "pay_").
std::string make_owned_id(std::string_view prefix, uint32_t owner_tag, uint64_t sequence);
// The owner tag of an id made by make_owned_id, or nullopt if the id is not of that shape.
std::optional<uint32_t> owner_tag_of(std::string_view id, std::string_view prefix);
// The sequence part, for recovering the per-shard counter.
std::optional<uint64_t> sequence_of(std::string_view id, std::string_view prefix);

}  // namespace stampede
