// The bounds of the HTTP and WebSocket transport (the engine's own are in core/limits.h),
// named in one place, units last. Constants only: any thread.
#pragma once

#include <cstddef>

namespace stampede::http {

inline constexpr size_t request_head_bytes_max = 8 * 1024;   // else 431
inline constexpr size_t request_body_bytes_max = 64 * 1024;  // else 413 (a route may ask less)
// A request must arrive whole within server_settings::request_timeout_s of the connection
// opening (or of the previous answer's last byte, for the first byte after it: up to
// server_settings::keep_alive_timeout_s); answers must be taken within the same time. A
// shard looks for HTTP sessions past these times this often (server/http_sessions.h), so a
// timeout ends up to this much late.
inline constexpr int http_sweep_period_ms = 250;
inline constexpr size_t connections_per_shard_max = 20'000;
// Empty lines a client may send before a request line (RFC 9112 section 2.2 asks servers to
// ignore at least one); past this many, the request is malformed.
inline constexpr int leading_empty_lines_max = 8;
// Lingering close (RFC 9112 section 9.6, as nginx's lingering_time): after an answer that
// ends the connection, the server stops writing but reads and discards what the client
// still sends, for at most this long and this much, so that closing with unread bytes does
// not reset the connection and destroy the answer before the client reads it.
inline constexpr int linger_time_ms = 5'000;
inline constexpr size_t linger_bytes_max = 16 * 1024 * 1024;
inline constexpr size_t linger_read_bytes = 16 * 1024;  // one read's worth
// Draining (SIGTERM): connections get this long to finish the request in flight, then
// every one still open is closed; the shards then get drain_settle_ms to end their
// sessions before the engine stops. The main thread looks every drain_poll_ms.
inline constexpr int drain_time_ms = 5'000;
inline constexpr int drain_settle_ms = 1'000;
inline constexpr int drain_poll_ms = 10;
// File descriptors: kept free of connections for the write-ahead logs, snapshots, webhook
// clients and the process itself; connections past (soft limit - this) are closed at once.
inline constexpr size_t descriptors_reserved = 128;
// After accept fails for want of descriptors or memory, a shard's listener waits this long
// before accepting again (nginx waits 500 ms) instead of retrying in a busy loop.
inline constexpr int accept_pause_ms = 500;
// WebSocket (GET /v1/ws).
inline constexpr size_t ws_connections_per_shard_max = 100'000;  // else 503 before upgrading
inline constexpr size_t ws_message_bytes_max = 4 * 1024;  // a bigger client message closes (1009)
inline constexpr size_t ws_subscriptions_max = 64;        // per connection
inline constexpr size_t ws_topic_length_max = 200;        // characters of a client's topic
inline constexpr size_t ws_queue_max = 64;  // unsent messages a connection may have; past it the
                                            // oldest goes (a newer state replaces an older one first)
inline constexpr int ws_idle_timeout_s = 60;
inline constexpr int ws_handshake_timeout_s = 10;
// The kernel's send buffer of a WebSocket (fixed rather than autotuned up to megabytes), so
// a connection that stops reading costs a bounded amount and the queue's rules take over.
inline constexpr int ws_send_buffer_bytes = 32 * 1024;  // pinged at half of it; closed without an answer
// How a shard's WebSocket sessions write and read (server/ws_hub.h, server/ws_session.h).
inline constexpr size_t ws_flush_slice_sessions = 256;  // sessions written per io_context turn, so a
                                                       // fan-out burst lets the shard's sockets in between
inline constexpr size_t ws_read_chunk_bytes = 16 * 1024;  // one recv (a buffer per shard, not per session)
inline constexpr size_t ws_reads_per_turn = 4;            // then the session yields to the others
inline constexpr int ws_sweep_period_ms = 1000;  // idle pings and timeouts are checked this often

}  // namespace stampede::http
