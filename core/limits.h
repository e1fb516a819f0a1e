// Every bound the engine enforces, in one place, units last. Nothing in core/ grows
// without one of these limiting it. Constants only: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stampede::limits {

// Identifiers.
inline constexpr size_t product_id_length_max = 64;
inline constexpr size_t user_id_length_max = 128;
inline constexpr size_t idempotency_key_length_max = 255;

// Catalog fields.
inline constexpr size_t product_name_length_max = 200;
inline constexpr size_t product_description_length_max = 10'000;
inline constexpr size_t product_images_max = 20;
inline constexpr size_t product_image_url_length_max = 2'048;
// Prices (of products and shipping methods) are bounded so that every amount the API emits
// stays exact in JavaScript (see money below): 90,000,000.00 in major units.
inline constexpr int64_t price_minor_max = 9'000'000'000;
inline constexpr int64_t on_hand_max = 1'000'000'000;
inline constexpr int64_t max_per_user_max = 1'000'000;

// Quantities in one request (API.md: an integer 1..10000).
inline constexpr int64_t quantity_min = 1;
inline constexpr int64_t quantity_max = 10'000;

// Per-user state.
inline constexpr size_t cart_lines_max = 100;
inline constexpr size_t addresses_per_user_max = 50;
inline constexpr size_t address_field_length_max = 200;
inline constexpr size_t orders_per_user_max = 10'000;
// What one user's Idempotency-Keys may pin, each kept idempotency_retention_ms: keys, and
// bytes of stored answers (compact; a 100-line cart is about 5 KB). Past either, a new key
// is refused (rate_limited, Retry-After: until the user's oldest key is forgotten).
inline constexpr size_t idempotency_keys_per_user_max = 10'000;
inline constexpr size_t idempotency_bytes_per_user_max = 4 << 20;
inline constexpr size_t notifications_per_user_max = 500;
inline constexpr size_t tracking_number_length_max = 200;
// Payment attempts one order keeps (each declined card stays in its history); without a
// bound, retrying declines would grow the order's record past what the log holds.
inline constexpr size_t payments_per_order_max = 100;
// Per-user token bucket (requests a second, and the burst above it); past it: rate_limited
// with Retry-After. Requests made by admins or the gateway about a user's order do not count.
inline constexpr int64_t user_requests_per_s_default = 20;
inline constexpr int64_t user_request_burst = 40;
// Requests of one user waiting behind the one in flight; past it: rate_limited.
inline constexpr size_t user_requests_queued_max = 64;

// Shipping methods.
inline constexpr size_t shipping_methods_max = 20;

// Lists.
inline constexpr int64_t page_limit_min = 1;
inline constexpr int64_t page_limit_max = 200;
inline constexpr int64_t page_limit_default = 50;

// Money. JavaScript holds integers exactly only up to 2^53 - 1 (browsers read
// 9998999999990501 as ...500), and every amount the API emits is a JSON number: line
// totals, subtotals, shipping, totals, payment amounts. The largest order is a full cart
// (cart_lines_max lines of quantity_max units) at the highest price plus the dearest
// shipping; it must stay exact.
inline constexpr int64_t json_exact_integer_max = (int64_t{1} << 53) - 1;
inline constexpr int64_t order_total_minor_max =
    price_minor_max * quantity_max * static_cast<int64_t>(cart_lines_max) + price_minor_max;
static_assert(order_total_minor_max <= json_exact_integer_max,
              "the largest order's total must be exact in JavaScript");

// Shards and their queues.
inline constexpr size_t shards_max = 256;
// Admission control: a new client request to a shard whose inbox holds more than this
// many messages is refused with `overloaded` before it changes anything. Messages that
// belong to admitted requests (replies, releases) are always accepted; each admitted
// request sends a bounded number of them (at most cart_lines_max + 2), so the inbox is
// bounded by this figure times that fan-out.
inline constexpr int64_t shard_inbox_admission_max = 65'536;
// Messages one drain pass handles before yielding to the shard's other I/O.
inline constexpr size_t shard_drain_batch_max = 512;
// Admission of client writes by queueing time (core/write_gate.h, after CoDel): a write may
// wait up to the interval in a queue that empties at least once an interval, and only the
// target in a standing queue; a write that waited past the interval is refused unrun.
// The target is half the interval: a write let into a standing queue still starts before
// its deadline, and a steady population of clients whose writes keep a queue of tens of
// milliseconds (256 connections of writes at 50 us each: 13 ms), which the shard serves
// well within issue 9's goals (served p99 under 1 s), is not shed. CoDel's 5 ms is for
// packets; at 5 ms such a queue was refused nearly whole.
inline constexpr int64_t write_wait_target_ms = 50;
inline constexpr int64_t write_wait_interval_ms = 100;
// Writes a shard queues at most (the time bound keeps it far below; this bounds memory).
inline constexpr size_t write_queue_max = 65'536;
// Writes a shard runs in one turn of its loop, and for how long at most, before it polls
// its sockets and mailbox again: reads wait at most about this long behind writes.
inline constexpr size_t write_batch_max = 64;
inline constexpr int64_t write_batch_us = 500;
// While a shard is behind on its sockets (core/shard.cc, poll_sockets), how long it reads
// them at least in one turn of its loop before the writes due and the messages waiting
// have theirs. Short, so that writes keep their turn (1.5x load on 8,192 connections:
// 89-95% of capacity served with 200 us, 96-98% with no minimum, 64% with 1 ms), but not
// none, so that messages from other shards cannot starve the sockets outright.
inline constexpr int64_t socket_slice_behind_us = 200;
// While its mailbox is busy, how often a shard polls its sockets and timers.
inline constexpr int64_t shard_reactor_poll_period_us = 20;
// Units (a product, a user with everything of theirs) a shard copies for a snapshot per
// turn of its loop, between batches of messages (64: a request waits well under 1 ms at p99
// during a round; BENCHMARKS.md).
inline constexpr size_t snapshot_units_per_turn = 64;
// How often a shard looks for lapsed holds and unpaid orders.
inline constexpr int64_t shard_timer_period_ms = 100;

// Webhooks.
inline constexpr size_t webhooks_max = 20;
inline constexpr size_t webhook_url_length_max = 2048;
// Events a shard keeps for receivers that have not acknowledged them; past it the oldest
// is dropped (and counted). A receiver down for a day at 1 event/s a shard needs 86,400.
inline constexpr size_t webhook_outbox_max = 200'000;
// How long an event is retried before it is dropped (API.md: at least 24 hours).
inline constexpr int64_t webhook_retry_window_ms = 48LL * 3600 * 1000;

// Order email (core/email_outbox.h): mails a shard keeps while its mail server is away;
// past it the oldest is dropped (and counted). Retried for 48 hours (API.md, "Email").
inline constexpr size_t email_outbox_max = 200'000;
inline constexpr int64_t email_retry_window_ms = 48LL * 3600 * 1000;

// Time.
inline constexpr int64_t hold_ttl_default_s = 600;
inline constexpr int64_t payment_ttl_default_s = 900;
inline constexpr int64_t idempotency_retention_ms = 24LL * 3600 * 1000 + 60 * 1000;

// ---- Drops: waiting rooms, draws, waitlists, limits across accounts ----

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
// How long a first add the products' supply has not shown yet still counts as an unused
// admission (the supply normally follows within a tick; this bounds a lost race).
inline constexpr int64_t drop_supply_lag_ms_max = 1'000;
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
inline constexpr int64_t account_limit_max = 1'000'000;

}  // namespace stampede::limits
