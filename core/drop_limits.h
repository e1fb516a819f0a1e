// Every bound of drops (waiting rooms, draws, waitlists, limits across accounts), units
// last. They join core/limits.h once that file may be edited again (it is being cut);
// until then they live here, in the same namespace. Constants only: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stampede::limits {

// A drop's definition.
inline constexpr size_t drop_id_length_max = 64;  // the product id pattern
inline constexpr size_t drop_products_max = 20;
inline constexpr int64_t drop_admit_per_s_default = 50;
inline constexpr int64_t drop_admit_per_s_max = 100'000;
inline constexpr int64_t drop_admission_ttl_default_s = 300;
inline constexpr int64_t drop_admission_ttl_min_s = 10;
inline constexpr int64_t drop_admission_ttl_max_s = 24 * 3600;
// overbook is kept in thousandths: 0.2 is 200; at most 10 (ten admitted shoppers a unit).
inline constexpr int64_t drop_overbook_permille_max = 10'000;
// How far ahead a drop may open or a draw close (a year and a day).
inline constexpr int64_t drop_schedule_horizon_ms = 366LL * 24 * 3600 * 1000;
// Drops one shard keeps, closed ones included (they stay readable).
inline constexpr size_t drops_per_shard_max = 10'000;

// The seed: 32 bytes from a CSPRNG (API.md).
inline constexpr size_t drop_seed_bytes = 32;

// A queue.
inline constexpr size_t drop_tickets_max = 1'000'000;
// Places a queue hands out over its life (leaving and joining again takes a new one).
inline constexpr int64_t drop_places_max = 4'000'000;
// A waiting ticket nobody polled or watched for this long expires (API.md: 300 s).
inline constexpr int64_t drop_ticket_unseen_ttl_ms = 300'000;
// admit_per_s is counted over any window of this length.
inline constexpr int64_t drop_admission_window_ms = 1'000;
// The estimate's admission rate is measured over the last this-many milliseconds.
inline constexpr int64_t drop_eta_window_ms = 10'000;
// A watched ticket is pushed at most this often (API.md: once a second), except on
// admission and sold out, which go at once.
inline constexpr int64_t drop_ticket_push_period_ms = 1'000;
// Admission tokens: "<expiry ms>.<64 hex>.<drop id>".
inline constexpr size_t admission_token_length_max = 20 + 1 + 64 + 1 + drop_id_length_max;

// A draw.
inline constexpr size_t drop_entries_max = 1'000'000;

// A product's waitlist.
inline constexpr size_t waitlist_entries_per_product_max = 100'000;

// Limits across accounts (max_per_address, max_per_card): the same bound as max_per_user.
inline constexpr int64_t max_per_address_max = 1'000'000;
inline constexpr int64_t max_per_card_max = 1'000'000;

}  // namespace stampede::limits
