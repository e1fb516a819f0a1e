#include "core/ids.h"

#include <cstdio>
#include <cstring>

namespace stampede {

uint64_t stable_hash(std::string_view key) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a offset basis
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;  // FNV prime
  }
  // splitmix64 finaliser: FNV alone spreads short keys poorly over the high bits.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint64_t content_hash(std::string_view bytes) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return h;
}

bool is_valid_product_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_user_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

namespace {
constexpr size_t tag_digits = 8;
constexpr size_t sequence_digits = owned_id_sequence_bits / 4;
static_assert(sequence_digits == 12, "make_owned_id's format writes 12 digits");

std::optional<uint64_t> parse_hex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}
}  // namespace

std::string make_owned_id(std::string_view prefix, uint32_t owner_tag, uint64_t sequence) {
  char buf[tag_digits + sequence_digits + 1];
  std::snprintf(buf, sizeof buf, "%08x%012llx", owner_tag,
                static_cast<unsigned long long>(sequence & ((uint64_t{1} << owned_id_sequence_bits) - 1)));
  std::string id(prefix);
  id.append(buf, tag_digits + sequence_digits);
  return id;
}

std::optional<uint32_t> owner_tag_of(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + tag_digits + sequence_digits) return std::nullopt;
  if (id.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto tag = parse_hex(id.substr(prefix.size(), tag_digits));
  auto seq = parse_hex(id.substr(prefix.size() + tag_digits));
  if (!tag || !seq) return std::nullopt;
  return static_cast<uint32_t>(*tag);
}

std::optional<uint64_t> sequence_of(std::string_view id, std::string_view prefix) {
  if (!owner_tag_of(id, prefix)) return std::nullopt;
  return parse_hex(id.substr(prefix.size() + tag_digits));
}

}  // namespace stampede
