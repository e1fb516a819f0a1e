#include "core/drop_identity.h"

#include <algorithm>

#include "core/check.h"
#include "core/ids.h"

namespace stampede {

namespace {

enum class spacing : uint8_t { collapse, remove };

// ASCII letters and digits, lowercased; every run of anything else ASCII (spaces,
// punctuation, controls) becomes one space, or nothing; bytes of other UTF-8 characters
// are kept as they are.
void append_folded(std::string& out, std::string_view text, spacing how) {
  bool gap = false;
  size_t start = out.size();
  for (unsigned char c : text) {
    bool ascii = c < 0x80;
    bool word =
        !ascii || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!word) {
      gap = true;
      continue;
    }
    if (gap && how == spacing::collapse && out.size() > start) out.push_back(' ');
    gap = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
  }
}

std::string hex_prefix(const sha256_digest& d) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(d.data()), 16));
}

constexpr std::string_view card_key_label = "stampede card fingerprint v1";

std::string composite(std::string_view product_id, std::string_view key) {
  std::string k(product_id);
  k.push_back('\n');
  k.append(key);
  return k;
}

}  // namespace

std::string normalized_address(const address& a) {
  std::string out;
  // line1 and line2 as one text: "1 Main St" + "Apt 2" is "1 Main St, Apt 2" written apart.
  std::string street = a.line1 + " " + a.line2;
  append_folded(out, street, spacing::collapse);
  out.push_back('|');
  append_folded(out, a.city, spacing::collapse);
  out.push_back('|');
  append_folded(out, a.region, spacing::collapse);
  out.push_back('|');
  // "SW1A 1AA" and "SW1A1AA" are one postal code.
  append_folded(out, a.postal_code, spacing::remove);
  out.push_back('|');
  append_folded(out, a.country, spacing::remove);
  return out;
}

std::string address_key(const address& a) { return hex_prefix(sha256(normalized_address(a))); }

card_fingerprinter::card_fingerprinter(std::string_view secret)
    : key_([&] {
        sha256_digest k = hmac_sha256(secret, card_key_label);
        return std::string(reinterpret_cast<const char*>(k.data()), k.size());
      }()) {}

std::string card_fingerprinter::fingerprint(std::string_view card_number) const {
  std::string digits;
  for (char c : card_number)
    if (c >= '0' && c <= '9') digits.push_back(c);
  return hex_prefix(key_.sign(digits));
}

std::vector<std::string> counted_cards(const order& o) {
  std::vector<std::string> out;
  if (!holds_stock(o.status)) return out;
  for (const auto& p : o.payments) {
    bool counts = p.status == payment_status::succeeded || p.status == payment_status::requires_action;
    if (!counts || p.card_fingerprint.empty()) continue;
    if (std::find(out.begin(), out.end(), p.card_fingerprint) == out.end())
      out.push_back(p.card_fingerprint);
  }
  return out;
}

void set_card_fingerprint(order& o, std::string_view payment_id, const std::string& fingerprint) {
  for (auto& p : o.payments)
    if (p.id == payment_id) p.card_fingerprint = fingerprint;
}

void keep_card_fingerprints(const order& before, order& after) {
  for (const auto& p : before.payments)
    if (!p.card_fingerprint.empty()) {
      for (auto& q : after.payments)
        if (q.id == p.id && q.card_fingerprint.empty()) q.card_fingerprint = p.card_fingerprint;
    }
}

int64_t account_counts::units(std::string_view product_id, std::string_view key) const {
  auto it = units_.find(composite(product_id, key));
  return it == units_.end() ? 0 : it->second;
}

std::optional<limit_breach> account_counts::check(std::string_view product_id, std::string_view key,
                                                  int64_t adding, int64_t limit,
                                                  limit_scope scope) const {
  if (limit <= 0) return std::nullopt;
  int64_t already = units(product_id, key);
  if (already + adding <= limit) return std::nullopt;
  return limit_breach{scope, limit, already};
}

void account_counts::add(std::string_view product_id, std::string_view key, int64_t units) {
  units_[composite(product_id, key)] += units;
}

void account_counts::remove(std::string_view product_id, std::string_view key, int64_t units) {
  // Units are counted only while the product has the limit: an order placed before an
  // admin set it gives back units that were never counted. Never below zero.
  auto it = units_.find(composite(product_id, key));
  if (it == units_.end()) return;
  it->second -= std::min(units, it->second);
  if (it->second == 0) units_.erase(it);
}

}  // namespace stampede
