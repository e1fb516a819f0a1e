// The binary encoding of the engine's values: explicitly sized little-endian fields, one
// list of fields per type (`fields`), which both the encoder and the decoder walk, so they
// cannot drift apart. The write-ahead log's records (persistence/wal_format.h) and the
// stored answers of Idempotency-Keys (idempotency.h) are written with it. Changing a list
// changes what is on disk: append new fields only in a new effect (wal_format.h).
// (Format generation 3, MANIFEST `stampede-data-3`: orders gained `email`; a data dir of an
// earlier generation is refused by name at start, never misread.)
// Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/effect.h"

namespace stampede::codec {

// ---- Every persisted type's fields, once, in wire order ----
//
// `fields(a, x)` hands each field of x to the archive `a`, which either encodes it (writer)
// or decodes into it (reader). One list per type, so encoder and decoder cannot drift apart.
// Wire forms: strings are u32 length + bytes; integers i64/u64; bools and enums u8;
// optionals u8 present + value; lists u32 count + items; variants u8 index + value.

template <class A> void fields(A& a, address& x) {
  a(x.id, x.name, x.line1, x.line2, x.city, x.region, x.postal_code, x.country, x.phone);
}
template <class A> void fields(A& a, shipping_method& x) { a(x.id, x.name, x.price); }
template <class A> void fields(A& a, order_item& x) {
  a(x.product_id, x.name, x.unit_price, x.quantity, x.line_total);
}
template <class A> void fields(A& a, payment& x) {
  a(x.id, x.status, x.method, x.amount, x.failure_reason, x.card_brand, x.card_last4,
    x.redirect_url, x.created_at_ms);
}
template <class A> void fields(A& a, status_change& x) { a(x.status, x.at_ms); }
template <class A> void fields(A& a, order& x) {
  a(x.id, x.user_id, x.status, x.items, x.subtotal, x.shipping, x.total, x.method,
    x.shipping_address, x.billing_address, x.payments, x.tracking_number, x.expires_at_ms,
    x.history, x.created_at_ms, x.updated_at_ms, x.email);
}
template <class A> void fields(A& a, cart_line& x) {
  a(x.product_id, x.name, x.unit_price, x.quantity, x.held);
}
template <class A> void fields(A& a, cart& x) { a(x.lines, x.held_until_ms); }
template <class A> void fields(A& a, cart_view_line& x) {
  a(x.product_id, x.name, x.unit_price, x.quantity, x.line_total, x.held, x.held_until_ms);
}
template <class A> void fields(A& a, cart_view& x) { a(x.items, x.subtotal, x.item_count); }
template <class A> void fields(A& a, payment_result& x) { a(x.pay, x.order_now); }
template <class A> void fields(A& a, product_create& x) {
  a(x.id, x.name, x.description, x.price, x.images, x.on_hand, x.max_per_user,
    x.sale_starts_at_ms, x.sale_ends_at_ms);
}
template <class A> void fields(A& a, product_patch& x) {
  a(x.name, x.description, x.price, x.images, x.on_hand, x.max_per_user, x.sale_starts_at_ms,
    x.sale_ends_at_ms, x.active);
}
template <class A> void fields(A& a, notification& x) {
  a(x.id, x.event, x.order_id, x.order_status_now, x.items, x.total, x.tracking_number,
    x.message, x.created_at_ms);
}
// The effects.
template <class A> void fields(A& a, product_created& x) { a(x.fields); }
template <class A> void fields(A& a, product_patched& x) { a(x.product_id, x.patch); }
template <class A> void fields(A& a, on_hand_set& x) { a(x.product_id, x.on_hand); }
template <class A> void fields(A& a, product_deactivated& x) { a(x.product_id); }
template <class A> void fields(A& a, shipping_methods_replaced& x) { a(x.methods); }
template <class A> void fields(A& a, cart_replaced& x) { a(x.user_id, x.contents); }
template <class A> void fields(A& a, address_added& x) { a(x.user_id, x.value); }
template <class A> void fields(A& a, address_deleted& x) { a(x.user_id, x.address_id); }
template <class A> void fields(A& a, order_placed& x) { a(x.value); }
template <class A> void fields(A& a, order_updated& x) { a(x.value); }
template <class A> void fields(A& a, notification_added& x) { a(x.user_id, x.value); }
template <class A> void fields(A& a, idempotency_stored& x) {
  a(x.user_id, x.scope_key, x.fingerprint, x.stored_at_ms, x.answer);
}
template <class A> void fields(A& a, product_restored& x) { a(x.fields, x.active, x.version); }
template <class A> void fields(A& a, idempotency_kept& x) {
  a(x.user_id, x.scope_key, x.fingerprint, x.stored_at_ms, x.kind, x.answer);
}
template <class A> void fields(A& a, webhook& x) {
  a(x.id, x.url, x.secret, x.events, x.created_at_ms);
}
template <class A> void fields(A& a, outbox_entry& x) {
  a(x.event_id, x.webhook_id, x.note, x.created_at_ms);
}
template <class A> void fields(A& a, webhooks_replaced& x) { a(x.list); }
template <class A> void fields(A& a, webhook_event_queued& x) { a(x.entry); }
template <class A> void fields(A& a, webhook_event_done& x) {
  a(x.created_at_ms, x.event_id, x.webhook_id);
}
template <class A> void fields(A& a, email_entry& x) {
  a(x.event_id, x.note, x.order_now, x.created_at_ms);
}
template <class A> void fields(A& a, email_queued& x) { a(x.entry); }
template <class A> void fields(A& a, email_done& x) { a(x.created_at_ms, x.event_id); }

// The largest value of each persisted enum, for decoding.
template <class E> constexpr uint8_t enum_max();
template <> constexpr uint8_t enum_max<order_status>() { return 6; }
template <> constexpr uint8_t enum_max<payment_status>() { return 3; }
template <> constexpr uint8_t enum_max<answer_kind>() { return 3; }
template <> constexpr uint8_t enum_max<drop_mode>() { return 1; }
template <> constexpr uint8_t enum_max<ticket_state>() { return 4; }
template <> constexpr uint8_t enum_max<entry_stage>() { return 3; }

// ---- Encoding ----

class writer {
 public:
  explicit writer(std::string& s) : s_(s) {}
  template <class... T>
  void operator()(T&... values) {
    (put(values), ...);
  }

 private:
  void raw(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void put(std::string& v) {
    raw(v.size(), 4);
    s_.append(v);
  }
  void put(int64_t v) { raw(static_cast<uint64_t>(v), 8); }
  void put(uint64_t v) { raw(v, 8); }
  void put(bool v) { raw(v ? 1 : 0, 1); }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void put(E v) { raw(static_cast<uint8_t>(v), 1); }
  template <class T>
  void put(std::optional<T>& v) {
    put(v.has_value());
    if (v) put(*v);
  }
  template <class T>
  void put(std::vector<T>& v) {
    raw(v.size(), 4);
    for (auto& x : v) put(x);
  }
  template <class... T>
  void put(std::variant<T...>& v) {
    raw(v.index(), 1);
    std::visit([&](auto& x) { put(x); }, v);
  }
  template <class S, std::enable_if_t<std::is_class_v<S>, int> = 0>
  void put(S& x) { fields(*this, x); }

  std::string& s_;
};

// ---- Decoding: every read is bounds-checked; a short or malformed payload fails whole ----

class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}
  bool done() const { return ok_ && at_ == s_.size(); }
  bool ok() const { return ok_; }
  template <class... T>
  void operator()(T&... values) {
    (get(values), ...);
  }
  uint8_t u8() { return static_cast<uint8_t>(raw(1)); }
  void fail() { ok_ = false; }

  void get(std::string& v) {
    uint64_t n = raw(4);
    if (!ok_ || n > s_.size() - at_) {
      ok_ = false;
      return;
    }
    v.assign(s_.substr(at_, n));
    at_ += n;
  }
  void get(int64_t& v) { v = static_cast<int64_t>(raw(8)); }
  void get(uint64_t& v) { v = raw(8); }
  void get(bool& v) {
    uint64_t b = raw(1);
    if (b > 1) ok_ = false;
    v = b == 1;
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void get(E& v) {
    uint64_t x = raw(1);
    if (x > enum_max<E>()) ok_ = false;
    v = static_cast<E>(x);
  }
  template <class T>
  void get(std::optional<T>& v) {
    bool present = false;
    get(present);
    if (!present || !ok_) {
      v.reset();
      return;
    }
    T x{};
    get(x);
    v = std::move(x);
  }
  template <class T>
  void get(std::vector<T>& v) {
    uint64_t n = raw(4);
    v.clear();
    // Item by item: a count larger than the payload can hold fails when the bytes run out,
    // having allocated no more than the payload's real items.
    for (uint64_t i = 0; i < n && ok_; ++i) {
      T x{};
      get(x);
      if (ok_) v.push_back(std::move(x));
    }
  }
  template <class... T>
  void get(std::variant<T...>& v) {
    size_t index = u8();
    if (!ok_ || index >= sizeof...(T)) {
      ok_ = false;
      return;
    }
    emplace_alternative(v, index, std::index_sequence_for<T...>{});
  }
  template <class S, std::enable_if_t<std::is_class_v<S>, int> = 0>
  void get(S& x) { fields(*this, x); }

 private:
  template <class V, size_t... I>
  void emplace_alternative(V& v, size_t index, std::index_sequence<I...>) {
    ((index == I ? (void)get(v.template emplace<I>()) : (void)0), ...);
  }
  uint64_t raw(size_t n) {
    if (!ok_ || n > s_.size() - at_) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(s_[at_ + i])) << (8 * i);
    at_ += n;
    return v;
  }
  std::string_view s_;
  size_t at_ = 0;
  bool ok_ = true;
};


// Appends `value`'s encoding to `out`.
template <class T>
void encode(std::string& out, const T& value) {
  writer w(out);
  // The archive only reads what it is given; fields() takes non-const for decoding's sake.
  w(const_cast<T&>(value));
}

// Decodes all of `bytes` into `value`; false when they are not exactly one encoded T.
template <class T>
[[nodiscard]] bool decode(std::string_view bytes, T& value) {
  reader r(bytes);
  r(value);
  return r.done();
}

}  // namespace stampede::codec
