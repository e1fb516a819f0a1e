#include "server/auth.h"

#include <boost/json.hpp>

#include "core/limits.h"

namespace stampede::http {

namespace {

constexpr size_t token_cache_max = 100'000;
// A token's claims parse within this (JSON values of a token_bytes_max token fit; past it the
// parser asks the heap).
constexpr size_t claims_arena_bytes = 4096;
constexpr size_t token_email_length_max = 1024;  // longer is no address: ignored
constexpr char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(b64url_alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(b64url_alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

// Decodes into `out` (reused: a verifier decodes three parts a token); false when `in` is
// not base64url.
bool b64url_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return false;  // no padding, no standard alphabet
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return bits < 6;  // a lone trailing character is not base64
}

// Code points in valid UTF-8: the bytes that do not continue a sequence.
size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// `storage` outlives the object (a token's claims: the verifier's scratch).
std::optional<boost::json::object> json_object(std::string_view text,
                                               boost::json::storage_ptr storage = {}) {
  boost::json::parse_options opts;
  opts.max_depth = 8;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, std::move(storage), opts);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// The identity the claims of a well-signed token give at time now_s, or nullopt.
std::optional<identity> identity_of(const boost::json::object& claims, int64_t now_s) {
  identity id;
  auto sub = claims.if_contains("sub");
  // API.md counts `sub` in characters (UTF-8 code points; the parser has checked the UTF-8).
  if (!sub || !sub->is_string() || sub->as_string().empty() ||
      utf8_length(sub->as_string()) > limits::user_id_length_max)
    return std::nullopt;
  id.user_id = std::string(sub->as_string());
  for (unsigned char c : id.user_id)
    if (c < 0x20 || c == 0x7f) return std::nullopt;
  auto exp = claims.if_contains("exp");
  if (!exp) return std::nullopt;
  if (exp->is_int64()) id.expires_at_s = exp->as_int64();
  else if (exp->is_uint64() && exp->as_uint64() < (1ULL << 62)) id.expires_at_s = static_cast<int64_t>(exp->as_uint64());
  else if (exp->is_double() && exp->as_double() > 0 && exp->as_double() < 1e17) id.expires_at_s = static_cast<int64_t>(exp->as_double());
  else return std::nullopt;
  if (id.expires_at_s <= now_s) return std::nullopt;
  if (auto nbf = claims.if_contains("nbf"); nbf && nbf->is_number() && nbf->to_number<double>() > static_cast<double>(now_s))
    return std::nullopt;
  if (auto role = claims.if_contains("role")) {
    if (!role->is_string()) return std::nullopt;
    if (role->as_string() == "admin") id.admin = true;
    else if (role->as_string() != "customer") return std::nullopt;
  }
  // A claim that is not a string is no address; one that is, is checked where it is used.
  if (auto email = claims.if_contains("email"); email && email->is_string() &&
                                                email->as_string().size() <= token_email_length_max)
    id.email = std::string(email->as_string());
  return id;
}

}  // namespace

std::string sign_token(std::string_view secret, std::string_view subject, std::string_view role,
                       int64_t expires_at_s, std::string_view email) {
  boost::json::object claims{{"sub", subject}, {"role", role}, {"exp", expires_at_s}};
  if (!email.empty()) claims["email"] = email;
  std::string signing_input = b64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                              b64url_encode(boost::json::serialize(claims));
  return signing_input + "." + b64url_encode(digest_bytes(hmac_sha256(secret, signing_input)));
}

token_verifier::token_verifier(std::string secret) : key_(std::move(secret)) {}

token_verifier::~token_verifier() = default;

std::optional<identity> token_verifier::verify(std::string_view token, int64_t now_s) {
  if (token.size() > token_bytes_max) return std::nullopt;
  if (auto it = cache_.find(absl::string_view(token.data(), token.size())); it != cache_.end()) {
    if (it->second.expires_at_s > now_s) return it->second;
    cache_.erase(it);
    return std::nullopt;
  }
  auto id = check(token, now_s);
  if (id && seen_before(token)) {
    if (cache_.size() >= token_cache_max) cache_.clear();
    cache_.emplace(std::string(token), *id);
  }
  return id;
}

// Most tokens a busy store sees once are a new shopper's first request, and many are never
// sent again (a drop's joins): keeping each would cost an allocation and a slot, and fill
// the cache with tokens that push out the ones in use. A token is kept on its second
// sighting, when its hash is still among the last ones seen (two ways a slot pair, the
// newer first), so a shopper who polls is verified twice and then found.
bool token_verifier::seen_before(std::string_view token) {
  uint64_t h = absl::Hash<absl::string_view>{}(absl::string_view(token.data(), token.size()));
  size_t i = (h % (token_seen_slots / 2)) * 2;
  if (seen_[i] == h || seen_[i + 1] == h) return true;
  seen_[i + 1] = seen_[i];
  seen_[i] = h;
  return false;
}

std::optional<identity> token_verifier::check(std::string_view token, int64_t now_s) {
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return std::nullopt;
  std::string_view header = token.substr(0, dot1);
  // Every token of a store has the same header: the one last found good is not parsed again.
  if (header.empty() || header != known_header_) {
    if (!b64url_decode(header, scratch_)) return std::nullopt;
    auto parsed = json_object(scratch_);
    if (!parsed) return std::nullopt;
    auto alg = parsed->if_contains("alg");
    if (!alg || !alg->is_string() || alg->as_string() != "HS256") return std::nullopt;
    known_header_.assign(header);
  }
  if (!b64url_decode(token.substr(dot2 + 1), signature_) ||
      !constant_time_equal(digest_bytes(key_.sign(token.substr(0, dot2))), signature_))
    return std::nullopt;
  if (!b64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), scratch_)) return std::nullopt;
  // The claims' parse allocates from a buffer on the stack (a token's are under 4 KiB).
  unsigned char arena[claims_arena_bytes];
  boost::json::monotonic_resource memory(arena, sizeof arena);
  auto claims = json_object(scratch_, &memory);
  if (!claims) return std::nullopt;
  return identity_of(*claims, now_s);
}

}  // namespace stampede::http
